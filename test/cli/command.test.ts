import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, test } from "node:test";
import { ArgumentError, flagOption, integerOption } from "../../src/cli/args.js";
import {
  CliError,
  defineCommand,
  defineCommandGroup,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  type CommandIo,
} from "../../src/cli/command.js";

interface CapturedIo extends CommandIo {
  readonly output: () => { stdout: string; stderr: string };
}

function captureIo(env: Record<string, string> = {}): CapturedIo {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  return { stdin: new PassThrough(), stdout, stderr, env, output: () => ({ stdout: out, stderr: err }) };
}

const seen: { count: number | undefined; loud: boolean }[] = [];

const echo = defineCommand({
  name: "echo",
  summary: "Says things",
  details: ["It says them again and again."],
  examples: ["sluice tools echo --count 2"],
  arguments: {
    options: { count: integerOption({ description: "How often", min: 1 }), loud: flagOption({ description: "Shout" }) },
    positionals: [{ name: "word", description: "What to say", required: false }],
  },
  async run({ options, positionals }, io) {
    seen.push({ count: options.count, loud: options.loud });
    if (positionals[0] === "fail") throw new CliError("it failed", "Try again later.");
    if (positionals[0] === "crash") throw new Error("boom");
    if (positionals[0] === "conflict") throw new ArgumentError("--count and --loud disagree");
    io.stdout.write(`${options.loud ? "HELLO" : "hello"}\n`);
    return EXIT_OK;
  },
});

const tools = defineCommandGroup({ name: "tools", summary: "Assorted tools", commands: [echo] });
const root = defineCommandGroup({ name: "sluice", summary: "Root", commands: [tools], version: "9.9.9" });

describe("defineCommand", () => {
  test("runs with parsed options and returns the run's exit code", async () => {
    const io = captureIo();
    assert.equal(await root.execute(["tools", "echo", "--count", "3", "--loud"], io, ""), EXIT_OK);
    assert.deepEqual(seen.at(-1), { count: 3, loud: true });
    assert.equal(io.output().stdout, "HELLO\n");
  });

  test("--help prints the usage with the full command path, arguments, options and examples", async () => {
    const io = captureIo();
    assert.equal(await root.execute(["tools", "echo", "--help"], io, ""), EXIT_OK);
    const { stdout, stderr } = io.output();
    assert.equal(stderr, "");
    assert.match(stdout, /^Usage: sluice tools echo \[word\] \[options\]\n\nSays things\n\nIt says them again/);
    assert.match(stdout, /\n {2}<word> {2}What to say\n/);
    assert.match(stdout, /--count <N> +How often\n/);
    assert.match(stdout, /--loud +Shout\n/);
    assert.match(stdout, /-h, --help +Show this help\n/);
    assert.match(stdout, /Examples:\n {2}sluice tools echo --count 2\n/);
  });

  test("a bad argument prints the message, the usage line and where the help is, and exits 2", async () => {
    const io = captureIo();
    assert.equal(await root.execute(["tools", "echo", "--count", "0"], io, ""), EXIT_USAGE);
    const { stdout, stderr } = io.output();
    assert.equal(stdout, "");
    assert.equal(
      stderr,
      "sluice tools echo: invalid value for --count: 0 is below the minimum 1\n" +
        "Usage: sluice tools echo [word] [options]\n" +
        "Run `sluice tools echo --help` to see every option.\n",
    );
  });

  test("an ArgumentError from run also earns the usage line and exit 2", async () => {
    const io = captureIo();
    assert.equal(await root.execute(["tools", "echo", "conflict"], io, ""), EXIT_USAGE);
    assert.equal(
      io.output().stderr,
      "sluice tools echo: --count and --loud disagree\nUsage: sluice tools echo [word] [options]\n" +
        "Run `sluice tools echo --help` to see every option.\n",
    );
  });

  test("a CliError prints its message and hint and exits 1", async () => {
    const io = captureIo();
    assert.equal(await root.execute(["tools", "echo", "fail"], io, ""), EXIT_FAILURE);
    assert.equal(io.output().stderr, "sluice tools echo: it failed\nTry again later.\n");
  });

  test("an unexpected error exits 1 and shows the stack only with SLUICE_DEBUG", async () => {
    const quiet = captureIo();
    assert.equal(await root.execute(["tools", "echo", "crash"], quiet, ""), EXIT_FAILURE);
    assert.match(quiet.output().stderr, /^sluice tools echo: unexpected error: boom\nSet SLUICE_DEBUG=1/);
    const debug = captureIo({ SLUICE_DEBUG: "1" });
    assert.equal(await root.execute(["tools", "echo", "crash"], debug, ""), EXIT_FAILURE);
    assert.match(debug.output().stderr, /unexpected error: boom\nError: boom\n\s+at /);
  });
});

describe("defineCommandGroup", () => {
  test("a missing subcommand exits 2 with the group's usage", async () => {
    const io = captureIo();
    assert.equal(await root.execute(["tools"], io, ""), EXIT_USAGE);
    assert.match(io.output().stderr, /^sluice tools: missing command\n\nUsage: sluice tools <command> \[options\]/);
    assert.match(io.output().stderr, /\n {2}echo {2}Says things\n/);
  });

  test("an unknown subcommand or option exits 2", async () => {
    const typo = captureIo();
    assert.equal(await root.execute(["tools", "ecko"], typo, ""), EXIT_USAGE);
    assert.match(typo.output().stderr, /^sluice tools: unknown command "ecko" \(did you mean "echo"\?\)/);
    const option = captureIo();
    assert.equal(await root.execute(["--verbose"], option, ""), EXIT_USAGE);
    assert.match(option.output().stderr, /^sluice: unknown option --verbose\n/);
  });

  test("help and --version go to stdout", async () => {
    for (const argv of [["--help"], ["-h"], ["help"]]) {
      const io = captureIo();
      assert.equal(await root.execute(argv, io, ""), EXIT_OK);
      assert.match(
        io.output().stdout,
        /^Usage: sluice <command> \[options\]\n\nRoot\n\nCommands:\n {2}tools {2}Assorted tools\n/,
      );
    }
    const version = captureIo();
    assert.equal(await root.execute(["--version"], version, ""), EXIT_OK);
    assert.equal(version.output().stdout, "9.9.9\n");
    const noVersion = captureIo();
    assert.equal(await root.execute(["tools", "--version"], noVersion, ""), EXIT_USAGE, "only groups given a version");
  });
});
