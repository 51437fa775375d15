// The jobs board as `sluice up` sees it: six services, each with its own schema (or DATABASE_URL_JOBS_<SERVICE>),
// one role per service and the gateway role, which comes first so that the services know it runs beside them.

import type { AppManifest } from "../app.js";

/** Each user's notifications, live: keyed by recipient, watched only with one's own key. Named here, not in
 * events.ts, so that reading the manifest loads no toolkit code. */
export const NOTIFICATIONS_TOPIC = "jobs-notifications";

export const JOBS_SERVICES = ["users", "jobs", "applications", "search", "notifications", "analytics"] as const;
export type JobsServiceName = (typeof JOBS_SERVICES)[number];

export const JOBS_GATEWAY_ROLE = "jobs-gateway";

/** "users" → "jobs-users": the service's name, its role's name and (hyphen as underscore) its schema's. */
export function jobsServiceName(service: JobsServiceName): string {
  return `jobs-${service}`;
}

const DESCRIPTIONS: Readonly<Record<JobsServiceName, string>> = {
  users: "the jobs board's user service: registration, sign-in, sessions, profiles",
  jobs: "the jobs board's job service: postings and their cached listing",
  applications: "the jobs board's application service: applications and their status",
  search: "the jobs board's search service: a full-text index fed by job and user events",
  notifications: "the jobs board's notification service: notifications, also live",
  analytics: "the jobs board's analytics service: counts of every event",
};

export const jobsApp: AppManifest = {
  name: "jobs",
  title: "Jobs board",
  pagePath: "/",
  services: JOBS_SERVICES.map((service) => ({ name: jobsServiceName(service) })),
  roles: [
    {
      name: JOBS_GATEWAY_ROLE,
      description: "the jobs board's page, /health/ and rate limits",
      service: null,
      http: true,
    },
    ...JOBS_SERVICES.map((service) => ({
      name: jobsServiceName(service),
      description: DESCRIPTIONS[service],
      service: jobsServiceName(service),
      http: true,
    })),
  ],
  liveTopics: [{ topic: NOTIFICATIONS_TOPIC, access: "own-key" }],
  load: () => import("./app.js").then((module) => module.jobsImplementation),
};
