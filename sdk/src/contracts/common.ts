import type * as z from 'zod';
import { commonSchemas } from './common-schemas.js';

/*
 * The schemas are built in `./common-schemas.js`, on first use; importing this module builds them all.
 */

export {
  codeForStatus,
  DEFAULT_PAGE_SIZE,
  groupDigits,
  MAX_BATCH_RUNS,
  MAX_PAGE_SIZE,
  page,
  statusForCode,
} from './common-schemas.js';
export const {
  Id,
  Name,
  Tag,
  Tags,
  Labels,
  Timestamp,
  JsonValue,
  JsonObject,
  PageLimit,
  PageQuery,
  FieldError,
  Problem,
  ErrorCode,
  DomainErrorCode,
  BatchItemError,
} = commonSchemas();

export type Id = z.infer<typeof Id>;
export type Name = z.infer<typeof Name>;
export type JsonObject = z.infer<typeof JsonObject>;
export type FieldError = z.infer<typeof FieldError>;
export type Problem = z.infer<typeof Problem>;
export type ErrorCode = z.infer<typeof ErrorCode>;
export type DomainErrorCode = z.infer<typeof DomainErrorCode>;
export type BatchItemError = z.infer<typeof BatchItemError>;
