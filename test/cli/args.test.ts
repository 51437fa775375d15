import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ArgumentError,
  choiceOption,
  closestName,
  customOption,
  flagOption,
  integerOption,
  listOption,
  optionEnvName,
  optionFlagName,
  parseArguments,
  parseInteger,
  stringOption,
  type ArgumentsSpec,
  type OptionSpecs,
} from "../../src/cli/args.js";

const options = {
  host: stringOption({ description: "host", default: "127.0.0.1" }),
  port: integerOption({ description: "port", min: 0, max: 65_535, default: 9092 }),
  group: stringOption({ description: "group" }),
  acks: choiceOption({ description: "acks", choices: ["-1", "0", "1"] as const, default: "-1" }),
  autoCreateTopics: flagOption({ description: "auto create", default: true }),
  fromBeginning: flagOption({ description: "from beginning" }),
  config: listOption({ description: "config", valueName: "k=v", countMax: 3 }),
  weights: listOption({ description: "weights", valueName: "N", parse: (raw) => parseInteger(raw, 1, 10) }),
  flush: customOption({
    description: "flush",
    valueName: "mode",
    parse: (raw) => {
      if (raw !== "always" && !raw.startsWith("interval:")) throw new Error(`"${raw}" is not a flush mode`);
      return raw;
    },
    default: "always",
  }),
};

const spec: ArgumentsSpec<typeof options> = {
  options,
  positionals: [
    { name: "topic", description: "topic", required: true },
    { name: "extra", description: "extra", required: false },
  ],
  envPrefix: "TEST_",
};

function parse(argv: string[], env: Record<string, string> = {}) {
  const parsed = parseArguments(argv, spec, env);
  assert.equal(parsed.help, false);
  if (parsed.help) throw new Error("unreachable");
  return parsed;
}

function parseError(argv: string[], env: Record<string, string> = {}, parseSpec: ArgumentsSpec<OptionSpecs> = spec) {
  try {
    parseArguments(argv, parseSpec, env);
  } catch (error) {
    assert.ok(error instanceof ArgumentError, `expected an ArgumentError, got ${String(error)}`);
    return error.message;
  }
  assert.fail(`expected ${JSON.stringify(argv)} to be refused`);
}

describe("parseArguments", () => {
  test("defaults apply when nothing is given", () => {
    const { options: values, positionals } = parse(["orders"]);
    assert.deepEqual(positionals, ["orders"]);
    assert.equal(values.host, "127.0.0.1");
    assert.equal(values.port, 9092);
    assert.equal(values.group, undefined);
    assert.equal(values.acks, "-1");
    assert.equal(values.autoCreateTopics, true);
    assert.equal(values.fromBeginning, false);
    assert.deepEqual(values.config, []);
    assert.equal(values.flush, "always");
  });

  test("--name value and --name=value are the same", () => {
    const spaced = parse(["t", "--port", "1234", "--group", "g"]).options;
    const joined = parse(["t", "--port=1234", "--group=g"]).options;
    assert.equal(spaced.port, 1234);
    assert.equal(joined.port, 1234);
    assert.equal(spaced.group, "g");
    assert.equal(joined.group, "g");
  });

  test("a value may contain = and may look like an option", () => {
    const values = parse(["t", "--acks", "-1", "--group=a=b", "--host", "--weird"]).options;
    assert.equal(values.acks, "-1");
    assert.equal(values.group, "a=b");
    assert.equal(values.host, "--weird");
  });

  test("an empty value is kept", () => {
    assert.equal(parse(["t", "--group="]).options.group, "");
  });

  test("flags: bare, negated, and with an explicit boolean", () => {
    assert.equal(parse(["t", "--from-beginning"]).options.fromBeginning, true);
    assert.equal(parse(["t", "--no-auto-create-topics"]).options.autoCreateTopics, false);
    assert.equal(parse(["t", "--auto-create-topics=false"]).options.autoCreateTopics, false);
    assert.equal(parse(["t", "--from-beginning=yes"]).options.fromBeginning, true);
  });

  test("repeatable options collect every value in order, parsed", () => {
    const values = parse(["t", "--config", "a=1", "--config=b=2", "--weights", "3", "--weights", "7"]).options;
    assert.deepEqual(values.config, ["a=1", "b=2"]);
    assert.deepEqual(values.weights, [3, 7]);
  });

  test("positionals may sit anywhere among options", () => {
    const { options: values, positionals } = parse(["--port", "1", "orders", "--from-beginning", "more"]);
    assert.deepEqual(positionals, ["orders", "more"]);
    assert.equal(values.port, 1);
  });

  test("after -- everything is positional, and a lone - is positional", () => {
    const { options: values, positionals } = parse(["--", "--port"]);
    assert.deepEqual(positionals, ["--port"]);
    assert.equal(values.port, 9092);
    assert.deepEqual(parse(["-"]).positionals, ["-"]);
    assert.deepEqual(parse(["--port", "5", "--", "-t", "--help"]).positionals, ["-t", "--help"]);
  });

  test("--help and -h win, even after a mistake", () => {
    assert.deepEqual(parseArguments(["--help"], spec), { help: true });
    assert.deepEqual(parseArguments(["t", "-h"], spec), { help: true });
    assert.deepEqual(parseArguments(["--bogus", "--help"], spec), { help: true });
    assert.deepEqual(parseArguments(["--port", "x", "-h"], spec), { help: true });
  });

  test("--help given as an option's value or after -- is not a request for help", () => {
    assert.equal(parse(["t", "--group", "--help"]).options.group, "--help");
    assert.deepEqual(parse(["--", "t", "--help"]).positionals, ["t", "--help"]);
  });

  test("environment variables fill options the command line did not give", () => {
    const env = { TEST_PORT: "7000", TEST_AUTO_CREATE_TOPICS: "false", TEST_GROUP: "from-env", TEST_HOST: "" };
    const values = parse(["t"], env).options;
    assert.equal(values.port, 7000);
    assert.equal(values.autoCreateTopics, false);
    assert.equal(values.group, "from-env");
    assert.equal(values.host, "127.0.0.1", "an empty variable counts as unset");
    assert.equal(parse(["t", "--port", "8000"], env).options.port, 8000, "the command line wins");
  });

  test("explicit env names are used without the prefix, and env: false reads nothing", () => {
    const explicit = {
      brokers: stringOption({ description: "b", env: "KAFKA_BROKERS" }),
      secret: stringOption({ description: "s", env: false }),
    };
    const parsed = parseArguments(
      [],
      { options: explicit, positionals: [], envPrefix: "X_" },
      {
        KAFKA_BROKERS: "h:1",
        X_BROKERS: "wrong",
        X_SECRET: "leak",
      },
    );
    assert.ok(!parsed.help);
    if (!parsed.help) {
      assert.equal(parsed.options.brokers, "h:1");
      assert.equal(parsed.options.secret, undefined);
    }
  });

  test("without a prefix, options read no environment", () => {
    const parsed = parseArguments(
      [],
      { options: { port: integerOption({ description: "p" }) }, positionals: [] },
      {
        PORT: "1",
      },
    );
    assert.ok(!parsed.help && parsed.options.port === undefined);
  });
});

describe("parseArguments errors", () => {
  test("an unknown option, with a suggestion when one is close", () => {
    assert.match(parseError(["t", "--prot", "1"]), /unknown option --prot \(did you mean --port\?\)/);
    assert.match(parseError(["t", "--zzzzzzzz"]), /unknown option --zzzzzzzz; see --help/);
    assert.match(parseError(["t", "--from-begining"]), /did you mean --from-beginning\?/);
  });

  test("a single-dash option other than -h", () => {
    assert.match(parseError(["t", "-p", "1"]), /unknown option -p; options start with --/);
  });

  test("--no- on an option that is not a flag", () => {
    assert.match(parseError(["t", "--no-port"]), /unknown option --no-port/);
  });

  test("a negated flag given a value", () => {
    assert.match(parseError(["t", "--no-auto-create-topics=true"]), /--no-auto-create-topics takes no value/);
  });

  test("a flag given something other than a boolean", () => {
    assert.match(parseError(["t", "--from-beginning=maybe"]), /--from-beginning takes true or false, not "maybe"/);
  });

  test("a flag given twice", () => {
    assert.match(
      parseError(["t", "--from-beginning", "--from-beginning"]),
      /--from-beginning was given more than once/,
    );
    assert.match(parseError(["t", "--auto-create-topics", "--no-auto-create-topics"]), /more than once/);
  });

  test("a value option at the end, or right before --", () => {
    assert.match(parseError(["t", "--port"]), /option --port needs a value: --port <N>/);
    assert.match(parseError(["--port", "--", "t"]), /option --port needs a value/);
  });

  test("a value option given twice", () => {
    assert.match(parseError(["t", "--port", "1", "--port=2"]), /--port was given more than once/);
  });

  test("values the option's parser refuses", () => {
    assert.match(parseError(["t", "--port", "abc"]), /invalid value for --port: "abc" is not an integer/);
    assert.match(parseError(["t", "--port", "1.5"]), /is not an integer/);
    assert.match(parseError(["t", "--port", "70000"]), /70000 is above the maximum 65535/);
    assert.match(parseError(["t", "--port", "-1"]), /-1 is below the minimum 0/);
    assert.match(parseError(["t", "--port", "99999999999999999999"]), /too large/);
    assert.match(parseError(["t", "--acks", "2"]), /invalid value for --acks: "2" is not one of -1, 0, 1/);
    assert.match(parseError(["t", "--flush", "never"]), /invalid value for --flush: "never" is not a flush mode/);
    assert.match(parseError(["t", "--weights", "11"]), /invalid value for --weights: 11 is above the maximum 10/);
  });

  test("a list option given more often than its limit", () => {
    const argv = ["t", "--config", "a", "--config", "b", "--config", "c", "--config", "d"];
    assert.match(parseError(argv), /--config was given more than 3 times/);
  });

  test("bad values from the environment name the variable", () => {
    assert.match(parseError(["t"], { TEST_PORT: "nine" }), /invalid value for --port from TEST_PORT: "nine"/);
    assert.match(
      parseError(["t"], { TEST_FROM_BEGINNING: "sometimes" }),
      /--from-beginning from TEST_FROM_BEGINNING: expected true or false, not "sometimes"/,
    );
  });

  test("missing and unexpected positionals", () => {
    assert.match(parseError([]), /^missing <topic>$/);
    assert.match(parseError(["a", "b", "c"]), /^unexpected argument "c"$/);
    const two: ArgumentsSpec<OptionSpecs> = {
      options: {},
      positionals: [
        { name: "group", description: "g", required: true },
        { name: "topic", description: "t", required: true },
      ],
    };
    assert.match(parseError([], {}, two), /^missing <group> <topic>$/);
    assert.match(parseError(["g"], {}, two), /^missing <topic>$/);
  });
});

describe("option names and helpers", () => {
  test("flag and environment names derive from the key", () => {
    assert.equal(optionFlagName("messageMaxBytes"), "message-max-bytes");
    assert.equal(optionFlagName("port"), "port");
    assert.equal(optionEnvName("messageMaxBytes", options.port, "SLUICE_BROKER_"), "SLUICE_BROKER_MESSAGE_MAX_BYTES");
    assert.equal(optionEnvName("port", options.port, undefined), null);
    assert.equal(optionEnvName("config", options.config, "SLUICE_BROKER_"), null, "lists read no environment");
  });

  test("closestName finds likely typos only", () => {
    assert.equal(closestName("topcs", ["topics", "produce", "consume"]), "topics");
    assert.equal(closestName("xyzzy", ["topics", "produce", "consume"]), null);
  });

  test("parseInteger accepts signs and surrounding space but nothing else", () => {
    assert.equal(parseInteger("+5"), 5);
    assert.equal(parseInteger("-5"), -5);
    assert.equal(parseInteger(" 7 "), 7);
    assert.throws(() => parseInteger("0x10"), /not an integer/);
    assert.throws(() => parseInteger(""), /not an integer/);
    assert.throws(() => parseInteger("1e3"), /not an integer/);
  });
});
