import { API_PREFIX, type ErrorCode, SCIM_SCHEMAS, type ScimError, type ScimErrorType } from '@outpost/sdk/contracts';
import { ApiError } from '../errors.js';

/*
 * Errors on the SCIM paths are SCIM's own document (RFC 7644 §3.12), not RFC 9457 problems: a
 * directory's client reads `status` (a string) and `scimType`. http/problems.ts answers every error
 * under SCIM_PATH this way, whatever raised it (validation, authentication, rate limits, an unknown
 * path), so no SCIM client ever sees another shape.
 */

/** The SCIM service provider's paths: /api/v1/organisations/:org/scim/v2 and everything under it. */
const SCIM_PATH = new RegExp(`^${API_PREFIX}/organisations/[^/]+/scim/v2(?:/|$)`);

export function isScimPath(path: string): boolean {
  return SCIM_PATH.test(path);
}

/** A refusal with the `scimType` RFC 7644 §3.12 gives it (null when the table names none). */
export class ScimProblem extends ApiError {
  constructor(
    code: ErrorCode,
    readonly scimType: ScimErrorType | null,
    detail: string,
  ) {
    super(code, detail);
  }
}

/** A 400 with this `scimType`: the request's syntax, filter, path or value. */
export function scimBadRequest(scimType: ScimErrorType, detail: string): ScimProblem {
  return new ScimProblem('validation_failed', scimType, detail);
}

/** The most field errors `detail` lists: a body of 10,000 bad members is not echoed back whole. */
const DETAIL_ERRORS = 10;

/** The `scimType` of an error raised by the pipeline or a query, by its code and fields. */
function scimTypeOf(error: ApiError): ScimErrorType | undefined {
  if (error instanceof ScimProblem) return error.scimType ?? undefined;
  switch (error.code) {
    case 'validation_failed':
      return error.errors?.some((e) => e.path === 'query.filter') ? 'invalidFilter' : 'invalidValue';
    case 'malformed_json':
      return 'invalidSyntax';
    // The only 409 of the SCIM routes: a name or an account already provisioned (RFC 7644 §3.3).
    case 'conflict':
      return 'uniqueness';
    default:
      return undefined;
  }
}

/** What went wrong, in one sentence, with the field paths of a validation failure after it. */
function detailOf(error: ApiError): string {
  if (error.code === 'unsupported_media_type') return 'send the body as application/scim+json (or application/json)';
  const detail = error.detail ?? error.message;
  const errors = error.errors ?? [];
  if (errors.length === 0) return detail;
  const listed = errors.slice(0, DETAIL_ERRORS).map((e) => `${e.path}: ${e.message}`);
  if (errors.length > DETAIL_ERRORS) listed.push(`and ${errors.length - DETAIL_ERRORS} more`);
  return `${detail}: ${listed.join('; ')}`;
}

/** The SCIM error document of an API error. */
export function scimErrorBody(error: ApiError): ScimError {
  const scimType = scimTypeOf(error);
  return {
    schemas: [SCIM_SCHEMAS.error],
    status: String(error.status),
    ...(scimType ? { scimType } : {}),
    detail: detailOf(error),
  };
}
