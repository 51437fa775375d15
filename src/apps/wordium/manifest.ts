// Wordium as `sluice up` sees it: four services, each with its own schema (or DATABASE_URL_WORDIUM_<SERVICE>), one
// role per service so that `--only wordium-posts` runs the posts service as a pod of its own, and the topics
// browsers may watch: posts and broadcasts are public, each user's notifications are their own private stream.

import type { AppManifest } from "../app.js";

export const AUTH_SERVICE = "wordium-auth";
export const USERS_SERVICE = "wordium-users";
export const POSTS_SERVICE = "wordium-posts";
export const NOTIFICATIONS_SERVICE = "wordium-notifications";

export const wordiumApp: AppManifest = {
  name: "wordium",
  title: "Wordium",
  pagePath: "/",
  services: [{ name: AUTH_SERVICE }, { name: USERS_SERVICE }, { name: POSTS_SERVICE }, { name: NOTIFICATIONS_SERVICE }],
  roles: [
    {
      name: AUTH_SERVICE,
      description: "Wordium's accounts (signup, login) and its page",
      service: AUTH_SERVICE,
      http: true,
    },
    {
      name: USERS_SERVICE,
      description: "Wordium's profiles, follows and post counts (consumes signups and posts)",
      service: USERS_SERVICE,
      http: true,
    },
    { name: POSTS_SERVICE, description: "Wordium's posts", service: POSTS_SERVICE, http: true },
    {
      name: NOTIFICATIONS_SERVICE,
      description: "Wordium's stored notifications and broadcasts",
      service: NOTIFICATIONS_SERVICE,
      http: true,
    },
  ],
  liveTopics: [
    { topic: "post.created", access: "everyone" },
    { topic: "user-notifications", access: "own-key" },
    { topic: "notification.broadcast", access: "everyone" },
    // Signups carry e-mail addresses: for the services only.
    { topic: "user.auth.signup", access: "none" },
  ],
  ownAccountRoutes: true,
  load: () => import("./app.js").then((module) => module.wordiumImplementation),
};
