// The account routes: register and sign in (both answer with an access token), and who-am-I.

import type { FastifyInstance } from "fastify";

import { validationFailed } from "../errors.js";
import type { Auth, SignedIn } from "./auth-types.js";

interface SignedInBody {
  userId: string;
  username: string;
  roles: readonly string[];
  token: string;
  expiresAt: string;
}

function credentialsOf(body: unknown): { username: unknown; password: unknown } {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw validationFailed("body", 'the body must be a JSON object: { "username": …, "password": … }');
  }
  const { username, password } = body as Record<string, unknown>;
  return { username, password };
}

function toBody(signedIn: SignedIn): SignedInBody {
  return {
    userId: signedIn.userId,
    username: signedIn.username,
    roles: signedIn.roles,
    token: signedIn.token,
    expiresAt: signedIn.expiresAt.toISOString(),
  };
}

export async function authRoutes(app: FastifyInstance, auth: Auth): Promise<void> {
  app.post("/api/auth/register", async (request, reply) => {
    const { username, password } = credentialsOf(request.body);
    const signedIn = await auth.register(username, password);
    return reply.status(201).send(toBody(signedIn));
  });

  app.post("/api/auth/login", async (request) => {
    const { username, password } = credentialsOf(request.body);
    return toBody(await auth.login(username, password));
  });

  app.get("/api/auth/me", { preHandler: auth.requireUser }, async (request) => ({
    userId: request.user?.userId,
    username: request.user?.username,
    roles: request.user?.roles,
    authMode: auth.mode,
  }));
}
