// The jobs board's topics. Every service publishes `{ event_type, data }` events, as the team's services did:
// user-events (user_registered, user_profile_updated), job-events (job_created, job_updated, job_deleted) and
// application-events (application_submitted, application_status_changed). Each `data` carries the entity's id and
// its version, which grows by one with every change, so that a consumer that sees events out of order keeps the
// newest. jobs-notifications carries each notification to its recipient's private live stream.

import { Type, type Static } from "@sinclair/typebox";

import { defineTopic } from "../../toolkit/index.js";
import { NOTIFICATIONS_TOPIC } from "./manifest.js";

/** Enough partitions for consumers to share the work; events of one entity keep their order (keyed by its id). */
export const JOBS_TOPIC_PARTITIONS = 3;

const eventShape = <T extends string>(types: readonly T[]) =>
  Type.Object({
    event_type: Type.Union(types.map((type) => Type.Literal(type))),
    data: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), version: Type.Integer({ minimum: 1 }) }),
  });

export const USER_EVENT_TYPES = ["user_registered", "user_profile_updated"] as const;
export const JOB_EVENT_TYPES = ["job_created", "job_updated", "job_deleted"] as const;
export const APPLICATION_EVENT_TYPES = ["application_submitted", "application_status_changed"] as const;

export const userEvents = defineTopic({
  name: "user-events",
  partitions: JOBS_TOPIC_PARTITIONS,
  schema: eventShape(USER_EVENT_TYPES),
  key: (event) => event.data.id,
});

export const jobEvents = defineTopic({
  name: "job-events",
  partitions: JOBS_TOPIC_PARTITIONS,
  schema: eventShape(JOB_EVENT_TYPES),
  key: (event) => event.data.id,
});

export const applicationEvents = defineTopic({
  name: "application-events",
  partitions: JOBS_TOPIC_PARTITIONS,
  schema: eventShape(APPLICATION_EVENT_TYPES),
  key: (event) => event.data.id,
});

/** What a user event's data holds (never the email address or the password). */
export interface UserEventData {
  id: string;
  version: number;
  username: string;
  user_type: string;
  first_name: string;
  last_name: string;
  bio: string;
  location: string;
}

/** What job_created and job_updated carry; job_deleted carries id, version and employer_id only. */
export interface JobEventData {
  id: string;
  version: number;
  employer_id: string;
  title: string;
  description: string;
  company: string;
  location: string;
  remote: boolean;
  created_at: string;
  updated_at: string;
}

export interface ApplicationEventData {
  id: string;
  version: number;
  job_id: string;
  job_title: string;
  employer_id: string;
  applicant_id: string;
  applicant_username: string;
  status: string;
  previous_status?: string;
}

const notificationSchema = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64 }),
  user_id: Type.String({ minLength: 1, maxLength: 64 }),
  kind: Type.String({ minLength: 1, maxLength: 64 }),
  message: Type.String({ minLength: 1, maxLength: 1000 }),
  created_at: Type.String({ minLength: 1, maxLength: 64 }),
});

export type NotificationEvent = Static<typeof notificationSchema>;

/** Keyed by recipient, so that the WebSocket gateway serves each user only their own ("own-key"). */
export const notificationEvents = defineTopic({
  name: NOTIFICATIONS_TOPIC,
  partitions: JOBS_TOPIC_PARTITIONS,
  schema: notificationSchema,
  key: (notification) => notification.user_id,
});

export const JOBS_TOPICS = [userEvents, jobEvents, applicationEvents, notificationEvents] as const;

/** The data of an event, as its consumer reads it: the fields beyond id and version are not in the schema. */
export function dataOf<T>(event: { data: { id: string; version: number } }): T {
  return event.data as unknown as T;
}
