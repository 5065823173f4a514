-- An organisation token never outranks its maker (created_by, recorded since 0047): it is revoked when
-- its maker loses the organisation role its scopes need (db/organisation-tokens.ts TOKEN_SCOPE_MAKERS:
-- `scim` needs owner, `audit:read` and `usage:read` owner or admin), and the SCIM routes act with its
-- maker's powers. The index serves those revocations, which look tokens up by maker.
CREATE INDEX "organisation_tokens_created_by_idx" ON "organisation_tokens" USING btree ("created_by") WHERE created_by IS NOT NULL;
--> statement-breakpoint
-- Tokens made before the rule by someone who may not make them now (an admin's `scim` token, or the
-- token of a person since demoted or removed) are revoked: the directory re-connects with an owner's.
UPDATE "organisation_tokens" t SET "revoked_at" = now()
WHERE t."revoked_at" IS NULL AND t."created_by" IS NOT NULL
  AND EXISTS (
    SELECT 1 FROM unnest(t."scopes") AS s(scope)
    WHERE NOT coalesce((
      SELECT CASE s.scope WHEN 'scim' THEN om."role" = 'owner' ELSE om."role" IN ('owner', 'admin') END
      FROM "organisation_members" om
      WHERE om."organisation_id" = t."organisation_id" AND om."user_id" = t."created_by"), false));
