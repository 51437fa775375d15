// Password hashing with scrypt, a memory-hard function (node:crypto), so that a stolen users table is expensive to
// attack with GPUs. The stored form carries its own parameters, so they can be raised later without breaking the
// hashes already stored: `scrypt$<cost>$<blockSize>$<parallelization>$<salt base64url>$<key base64url>`.

import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

import { integerOption, resolveIntegers, type OptionError } from "../../platform/options.js";
import { GatewayError, GatewayErrorCode } from "../errors.js";

export interface PasswordHashParameters {
  /** scrypt's N: memory and time grow linearly with it; a power of two. */
  readonly cost: number;
  /** scrypt's r: the block size, 8 in every common recommendation. */
  readonly blockSize: number;
  /** scrypt's p: repeats the work this many times without using more memory. */
  readonly parallelization: number;
  readonly saltBytes: number;
  readonly keyBytes: number;
}

/**
 * N = 2^15, r = 8, p = 3: among the settings OWASP's password storage guidance lists as equal in strength, the one
 * that keeps memory per hash at 32 MiB (128 * N * r bytes), so that several concurrent sign-ins stay affordable on a
 * small machine.
 */
export const DEFAULT_PASSWORD_HASH_PARAMETERS: PasswordHashParameters = {
  cost: 2 ** 15,
  blockSize: 8,
  parallelization: 3,
  saltBytes: 16,
  keyBytes: 32,
};

/** Hashes computed at once; each holds 128 * N * r bytes of memory while it runs. */
export const DEFAULT_PASSWORD_HASH_CONCURRENCY_MAX = 2;
/** Hash requests waiting for a free slot; beyond this, sign-ins are refused with 503 until the queue drains. */
export const DEFAULT_PASSWORD_HASH_QUEUE_MAX = 64;
/** Upper bounds on those two settings: at 32 MiB a hash, more at once would not fit a machine. */
export const PASSWORD_HASH_CONCURRENCY_LIMIT = 64;
export const PASSWORD_HASH_QUEUE_LIMIT = 100_000;

/** Bounds on parameters read back from stored hashes, so that a tampered row cannot demand gigabytes of memory. */
const COST_MAX = 2 ** 20;
const BLOCK_SIZE_MAX = 32;
const PARALLELIZATION_MAX = 16;
const SALT_BYTES_RANGE = [8, 64] as const;
const KEY_BYTES_RANGE = [16, 64] as const;

const HASH_SCHEME = "scrypt";

/** The parameters besides the cost (checked on its own, being a power of two), each with its default and range. */
const PARAMETER_OPTIONS = {
  blockSize: integerOption(DEFAULT_PASSWORD_HASH_PARAMETERS.blockSize, 1, BLOCK_SIZE_MAX),
  parallelization: integerOption(DEFAULT_PASSWORD_HASH_PARAMETERS.parallelization, 1, PARALLELIZATION_MAX),
  saltBytes: integerOption(DEFAULT_PASSWORD_HASH_PARAMETERS.saltBytes, ...SALT_BYTES_RANGE),
  keyBytes: integerOption(DEFAULT_PASSWORD_HASH_PARAMETERS.keyBytes, ...KEY_BYTES_RANGE),
};

const HASHER_OPTIONS = {
  passwordHashConcurrencyMax: integerOption(DEFAULT_PASSWORD_HASH_CONCURRENCY_MAX, 1, PASSWORD_HASH_CONCURRENCY_LIMIT),
  passwordHashQueueMax: integerOption(DEFAULT_PASSWORD_HASH_QUEUE_MAX, 0, PASSWORD_HASH_QUEUE_LIMIT),
};

const rangeError: OptionError = (field, message) => new RangeError(`${field} ${message}`);

function checkParameters(parameters: PasswordHashParameters): PasswordHashParameters {
  const { cost } = parameters;
  const isPowerOfTwo = Number.isInteger(cost) && cost >= 2 && (cost & (cost - 1)) === 0;
  if (!isPowerOfTwo || cost > COST_MAX) {
    throw new RangeError(`passwordHashing.cost must be a power of two from 2 to ${COST_MAX}, got ${cost}`);
  }
  resolveIntegers(PARAMETER_OPTIONS, parameters, (field, message) => rangeError(`passwordHashing.${field}`, message));
  return parameters;
}

function derive(password: string, salt: Buffer, parameters: PasswordHashParameters): Promise<Buffer> {
  const memoryBytes = 128 * parameters.cost * parameters.blockSize;
  const options: ScryptOptions = {
    N: parameters.cost,
    r: parameters.blockSize,
    p: parameters.parallelization,
    // Node refuses when the work needs more than maxmem; leave room above the exact figure.
    maxmem: 2 * memoryBytes,
  };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, parameters.keyBytes, options, (error, key) => {
      if (error === null) resolve(key);
      else reject(error);
    });
  });
}

interface ParsedHash {
  parameters: PasswordHashParameters;
  salt: Buffer;
  key: Buffer;
}

function parseHash(stored: string): ParsedHash | null {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== HASH_SCHEME) return null;
  const [, costText, blockSizeText, parallelizationText, saltText, keyText] = parts as [string, ...string[]];
  const numbers = [costText, blockSizeText, parallelizationText].map((text) =>
    /^\d{1,8}$/.test(text ?? "") ? Number(text) : NaN,
  );
  const salt = Buffer.from(saltText ?? "", "base64url");
  const key = Buffer.from(keyText ?? "", "base64url");
  const parameters = {
    cost: numbers[0] ?? NaN,
    blockSize: numbers[1] ?? NaN,
    parallelization: numbers[2] ?? NaN,
    saltBytes: salt.length,
    keyBytes: key.length,
  };
  try {
    checkParameters(parameters);
  } catch {
    return null;
  }
  return { parameters, salt, key };
}

export interface PasswordHasherOptions {
  parameters?: Partial<PasswordHashParameters>;
  concurrencyMax?: number;
  queueMax?: number;
}

/**
 * Hashes and verifies passwords, at most concurrencyMax at a time (each needs tens of MiB), with a bounded queue
 * behind them.
 */
export class PasswordHasher {
  readonly parameters: PasswordHashParameters;
  readonly #concurrencyMax: number;
  readonly #queueMax: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];
  #decoy: Promise<string> | null = null;

  constructor(options: PasswordHasherOptions = {}) {
    this.parameters = checkParameters({ ...DEFAULT_PASSWORD_HASH_PARAMETERS, ...options.parameters });
    const limits = resolveIntegers(
      HASHER_OPTIONS,
      { passwordHashConcurrencyMax: options.concurrencyMax, passwordHashQueueMax: options.queueMax },
      rangeError,
    );
    this.#concurrencyMax = limits.passwordHashConcurrencyMax;
    this.#queueMax = limits.passwordHashQueueMax;
  }

  async hash(password: string): Promise<string> {
    const salt = randomBytes(this.parameters.saltBytes);
    const key = await this.#limited(() => derive(password, salt, this.parameters));
    const { cost, blockSize, parallelization } = this.parameters;
    return [HASH_SCHEME, cost, blockSize, parallelization, salt.toString("base64url"), key.toString("base64url")].join(
      "$",
    );
  }

  /** True when password matches the stored hash; false for a wrong password or a hash this module cannot read. */
  async verify(password: string, stored: string): Promise<boolean> {
    const parsed = parseHash(stored);
    if (parsed === null) return false;
    const key = await this.#limited(() => derive(password, parsed.salt, parsed.parameters));
    return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
  }

  /**
   * Spends the same time as verify() against a hash that matches nothing, so that a sign-in for an unknown user
   * takes as long as one with a wrong password and does not reveal which usernames exist.
   */
  async verifyDecoy(password: string): Promise<false> {
    this.#decoy ??= this.hash(randomBytes(16).toString("hex"));
    await this.verify(password, await this.#decoy);
    return false;
  }

  async #limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#concurrencyMax) {
      if (this.#waiting.length >= this.#queueMax) {
        throw new GatewayError(
          GatewayErrorCode.UNAVAILABLE,
          "too many sign-ins are being processed right now; try again in a moment",
          { retryAfterSeconds: 1 },
        );
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running += 1;
    }
    try {
      return await work();
    } finally {
      // A waiter inherits this slot, so the running count only drops when nobody waits.
      const next = this.#waiting.shift();
      if (next === undefined) this.#running -= 1;
      else next();
    }
  }
}
