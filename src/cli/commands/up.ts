// `sluice up`: a placeholder that runs the broker alone, with its state under .sluice/, until the full system
// (database, gateway, workers, pages) can be started here too.

import { stringOption } from "../args.js";
import { defineCommand } from "../command.js";
import { brokerOptions, runBroker } from "./broker.js";

export const UP_DATA_DIR = ".sluice/data";

export const upCommand = defineCommand({
  name: "up",
  summary: "Run everything on this machine (for now: the broker)",
  arguments: {
    options: {
      ...brokerOptions,
      dataDir: stringOption({ description: "Directory for logs and state", valueName: "dir", default: UP_DATA_DIR }),
    },
    positionals: [],
    envPrefix: "SLUICE_BROKER_",
  },
  run: ({ options }, io) => runBroker(options, io),
});
