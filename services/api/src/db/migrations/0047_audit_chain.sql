-- Every workspace's audit log becomes a hash chain, and organisations get tokens of their own.
--
-- Each entry carries its place in its workspace's chain (chain_seq = 1, 2, …), the hash before it
-- (chain_prev; 64 zeros before the first) and its own hash:
--
--   chain_hash = hex(sha256(chain_prev ‖ audit_entry_text(entry)))
--
-- audit_entry_text is the JSON array text of the entry's fields in a fixed order, as Postgres
-- prints jsonb. Whoever holds an export recomputes it from the exported fields (the SDK's
-- verifyAuditChain), so a changed, removed or reordered entry breaks the chain from that entry on,
-- and a chain cut short no longer reaches the head the server reports.
--
-- The trigger writing the hash locks the workspace's head row (audit_chain_heads) until the entry
-- commits, so a workspace's entries take their places one at a time, in commit order; other
-- workspaces are not held up. Audited calls are people's and keys' changes, never the worker
-- protocol's hot path (http/audit.ts lists what is not audited), so this queue is short.
CREATE TABLE "audit_chain_heads" (
	"workspace_id" uuid PRIMARY KEY NOT NULL,
	"seq" bigint NOT NULL,
	"hash" text NOT NULL
);--> statement-breakpoint
ALTER TABLE "audit_chain_heads" ADD CONSTRAINT "audit_chain_heads_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "chain_seq" bigint;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "chain_prev" text;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "chain_hash" text;--> statement-breakpoint
-- The text an entry's hash covers: every field the export shows but the actor's label (read at
-- export time, as the person or key is named now) and object_ids (derived from the two id maps).
-- Ids travel as text, so no reader rounds a bigint; times as UTC to the millisecond, as stored.
CREATE FUNCTION "audit_entry_text"(e "audit_log") RETURNS text LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_array(
    e."workspace_id"::text, e."chain_seq"::text, e."id"::text,
    to_char(e."occurred_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    e."actor_kind", e."actor_id"::text, e."action", e."method", e."path", e."status",
    e."client_address", e."user_agent", e."request_id", e."target_ids", e."result_ids", e."summary"
  )::text
$$;--> statement-breakpoint
CREATE FUNCTION "audit_chain_hash"(prev text, e "audit_log") RETURNS text LANGUAGE sql STABLE AS $$
  SELECT encode(sha256(convert_to(prev || audit_entry_text(e), 'UTF8')), 'hex')
$$;--> statement-breakpoint
-- Existing entries are chained in id order, workspace by workspace. The append-only trigger is
-- set aside for this one statement of the migration's own transaction, and only these columns change.
ALTER TABLE "audit_log" DISABLE TRIGGER "audit_log_no_update_delete";--> statement-breakpoint
DO $$
DECLARE
  e "audit_log";
  ws uuid;
  prev text;
  n bigint;
BEGIN
  FOR e IN SELECT * FROM "audit_log" ORDER BY "workspace_id", "id" LOOP
    IF ws IS DISTINCT FROM e."workspace_id" THEN
      ws := e."workspace_id";
      prev := repeat('0', 64);
      n := 0;
    END IF;
    n := n + 1;
    e."chain_seq" := n;
    e."chain_prev" := prev;
    e."chain_hash" := audit_chain_hash(prev, e);
    UPDATE "audit_log" SET "chain_seq" = e."chain_seq", "chain_prev" = e."chain_prev", "chain_hash" = e."chain_hash"
      WHERE "id" = e."id";
    prev := e."chain_hash";
  END LOOP;
END $$;--> statement-breakpoint
ALTER TABLE "audit_log" ENABLE TRIGGER "audit_log_no_update_delete";--> statement-breakpoint
INSERT INTO "audit_chain_heads" ("workspace_id", "seq", "hash")
  SELECT DISTINCT ON ("workspace_id") "workspace_id", "chain_seq", "chain_hash"
  FROM "audit_log" ORDER BY "workspace_id", "chain_seq" DESC;--> statement-breakpoint
ALTER TABLE "audit_log" ALTER COLUMN "chain_seq" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "audit_log" ALTER COLUMN "chain_prev" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "audit_log" ALTER COLUMN "chain_hash" SET NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "audit_log_chain_uq" ON "audit_log" USING btree ("workspace_id","chain_seq");--> statement-breakpoint
-- Whatever an INSERT says of the chain columns, the trigger writes them.
CREATE FUNCTION "audit_log_chain"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  head record;
BEGIN
  INSERT INTO "audit_chain_heads" ("workspace_id", "seq", "hash") VALUES (NEW."workspace_id", 0, repeat('0', 64))
    ON CONFLICT ("workspace_id") DO NOTHING;
  SELECT h."seq", h."hash" INTO head FROM "audit_chain_heads" h WHERE h."workspace_id" = NEW."workspace_id" FOR UPDATE;
  NEW."chain_seq" := head."seq" + 1;
  NEW."chain_prev" := head."hash";
  NEW."chain_hash" := audit_chain_hash(head."hash", NEW);
  UPDATE "audit_chain_heads" SET "seq" = NEW."chain_seq", "hash" = NEW."chain_hash" WHERE "workspace_id" = NEW."workspace_id";
  RETURN NEW;
END;
$$;--> statement-breakpoint
CREATE TRIGGER "audit_log_chain" BEFORE INSERT ON "audit_log" FOR EACH ROW EXECUTE FUNCTION "audit_log_chain"();--> statement-breakpoint
-- The heads are written only by that trigger: nobody may move a workspace's head back or aside.
CREATE FUNCTION "audit_chain_heads_forward"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR NEW."seq" <> OLD."seq" + 1 OR NEW."workspace_id" <> OLD."workspace_id" THEN
    RAISE EXCEPTION 'an audit chain head only moves one entry forward' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$;--> statement-breakpoint
CREATE TRIGGER "audit_chain_heads_forward" BEFORE UPDATE OR DELETE ON "audit_chain_heads"
  FOR EACH ROW EXECUTE FUNCTION "audit_chain_heads_forward"();--> statement-breakpoint
CREATE TRIGGER "audit_chain_heads_no_truncate" BEFORE TRUNCATE ON "audit_chain_heads"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_log_append_only"();--> statement-breakpoint
CREATE TABLE "organisation_tokens" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organisation_id" uuid NOT NULL,
	"name" text NOT NULL,
	"scopes" text[] NOT NULL,
	"prefix" text NOT NULL,
	"token_hash" text NOT NULL,
	"created_by" uuid,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp (3) with time zone,
	"last_used_at" timestamp (3) with time zone,
	"revoked_at" timestamp (3) with time zone
);--> statement-breakpoint
ALTER TABLE "organisation_tokens" ADD CONSTRAINT "organisation_tokens_organisation_id_organisations_id_fk" FOREIGN KEY ("organisation_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "organisation_tokens" ADD CONSTRAINT "organisation_tokens_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "organisation_tokens_hash_uq" ON "organisation_tokens" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "organisation_tokens_organisation_idx" ON "organisation_tokens" USING btree ("organisation_id","created_at");
