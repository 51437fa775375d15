// Limits on everything the group coordinator keeps in memory or on disk, each with a named default. The broker
// config holds the session timeout bounds; these are the coordinator's own and may be overridden per instance.

/** Members (joined plus awaiting a second JoinGroup) per group; beyond it JoinGroup answers GROUP_MAX_SIZE_REACHED. */
export const GROUP_MAX_SIZE = 1000;
/** Groups per broker; creating one more is refused with POLICY_VIOLATION. */
export const GROUPS_MAX = 10_000;
/** Protocols (assignors) a member may offer in one JoinGroup. */
export const PROTOCOLS_PER_MEMBER_MAX = 32;
/** Protocol metadata bytes a member may send in one JoinGroup, summed over its protocols. */
export const MEMBER_METADATA_BYTES_MAX = 1024 * 1024;
/** Assignment bytes the leader may hand to one member in SyncGroup. */
export const MEMBER_ASSIGNMENT_BYTES_MAX = 1024 * 1024;
/** Characters of a client id kept in a generated member id. */
export const MEMBER_ID_CLIENT_ID_CHARS_MAX = 255;
/** Bytes of the metadata string stored with a committed offset (Kafka's offset.metadata.max.bytes). */
export const OFFSET_METADATA_BYTES_MAX = 4096;
/** The offsets file is rewritten without superseded records once it reaches this size and twice its live size. */
export const OFFSET_LOG_COMPACT_BYTES_MIN = 4 * 1024 * 1024;
/** Bytes of one record in the offsets file; a larger length field means a torn or corrupt tail. */
export const OFFSET_LOG_RECORD_BYTES_MAX = 1024 * 1024;

export interface GroupLimits {
  groupMaxSize: number;
  groupsMax: number;
  protocolsPerMemberMax: number;
  memberMetadataBytesMax: number;
  memberAssignmentBytesMax: number;
  memberIdClientIdCharsMax: number;
  offsetMetadataBytesMax: number;
  offsetLogCompactBytesMin: number;
}

export function defaultGroupLimits(): GroupLimits {
  return {
    groupMaxSize: GROUP_MAX_SIZE,
    groupsMax: GROUPS_MAX,
    protocolsPerMemberMax: PROTOCOLS_PER_MEMBER_MAX,
    memberMetadataBytesMax: MEMBER_METADATA_BYTES_MAX,
    memberAssignmentBytesMax: MEMBER_ASSIGNMENT_BYTES_MAX,
    memberIdClientIdCharsMax: MEMBER_ID_CLIENT_ID_CHARS_MAX,
    offsetMetadataBytesMax: OFFSET_METADATA_BYTES_MAX,
    offsetLogCompactBytesMin: OFFSET_LOG_COMPACT_BYTES_MIN,
  };
}
