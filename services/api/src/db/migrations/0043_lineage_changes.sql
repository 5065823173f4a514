-- A cheap stamp of the facts a workspace's lineage is derived from (definitions, partition statuses,
-- check results, waivers, dynamic partition keys): every statement that writes them appends one row
-- per workspace it touched to `lineage_changes`, by the statement triggers below, in its own
-- transaction. The retention loop folds old rows into `lineage_change_counts`, deleting them and
-- adding their number in one statement, so folded + the rows left is the same in every snapshot.
-- That sum only grows, and only when a change commits: equal sums read at two times mean the same
-- changes (a late commit moves it however early its transaction began). A TRUNCATE would not be
-- noted (statement triggers with transition tables cannot see one): nothing truncates these tables.
CREATE TABLE "lineage_changes" (
	"workspace_id" uuid NOT NULL,
	"seq" bigserial NOT NULL,
	CONSTRAINT "lineage_changes_workspace_id_seq_pk" PRIMARY KEY("workspace_id","seq")
);
--> statement-breakpoint
CREATE TABLE "lineage_change_counts" (
	"workspace_id" uuid PRIMARY KEY NOT NULL,
	"folded" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "lineage_changes" ADD CONSTRAINT "lineage_changes_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "lineage_change_counts" ADD CONSTRAINT "lineage_change_counts_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
-- One function per event: a trigger with transition tables takes one event, and an INSERT has no
-- old table nor a DELETE a new one. Each table names its transition tables alike, so the five share
-- them. A statement that changed no row (ON CONFLICT DO NOTHING, an update whose WHERE held nowhere)
-- appends nothing.
CREATE FUNCTION "lineage_changes_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "lineage_changes" ("workspace_id") SELECT DISTINCT n."workspace_id" FROM "new_rows" n;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE FUNCTION "lineage_changes_updated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "lineage_changes" ("workspace_id")
  SELECT n."workspace_id" FROM "new_rows" n UNION SELECT o."workspace_id" FROM "old_rows" o;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE FUNCTION "lineage_changes_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "lineage_changes" ("workspace_id") SELECT DISTINCT o."workspace_id" FROM "old_rows" o;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "lineage_changes_inserted" AFTER INSERT ON "asset_definitions"
  REFERENCING NEW TABLE AS "new_rows" FOR EACH STATEMENT EXECUTE FUNCTION "lineage_changes_inserted"();--> statement-breakpoint
CREATE TRIGGER "lineage_changes_updated" AFTER UPDATE ON "asset_definitions"
  REFERENCING OLD TABLE AS "old_rows" NEW TABLE AS "new_rows" FOR EACH STATEMENT EXECUTE FUNCTION "lineage_changes_updated"();--> statement-breakpoint
CREATE TRIGGER "lineage_changes_deleted" AFTER DELETE ON "asset_definitions"
  REFERENCING OLD TABLE AS "old_rows" FOR EACH STATEMENT EXECUTE FUNCTION "lineage_changes_deleted"();--> statement-breakpoint
CREATE TRIGGER "lineage_changes_inserted" AFTER INSERT ON "asset_partitions"
  REFERENCING NEW TABLE AS "new_rows" FOR EACH STATEMENT EXECUTE FUNCTION "lineage_changes_inserted"();--> statement-breakpoint
CREATE TRIGGER "lineage_changes_updated" AFTER UPDATE ON "asset_partitions"
  REFERENCING OLD TABLE AS "old_rows" NEW TABLE AS "new_rows" FOR EACH STATEMENT EXECUTE FUNCTION "lineage_changes_updated"();--> statement-breakpoint
CREATE TRIGGER "lineage_changes_deleted" AFTER DELETE ON "asset_partitions"
  REFERENCING OLD TABLE AS "old_rows" FOR EACH STATEMENT EXECUTE FUNCTION "lineage_changes_deleted"();--> statement-breakpoint
CREATE TRIGGER "lineage_changes_inserted" AFTER INSERT ON "asset_check_results"
  REFERENCING NEW TABLE AS "new_rows" FOR EACH STATEMENT EXECUTE FUNCTION "lineage_changes_inserted"();--> statement-breakpoint
CREATE TRIGGER "lineage_changes_updated" AFTER UPDATE ON "asset_check_results"
  REFERENCING OLD TABLE AS "old_rows" NEW TABLE AS "new_rows" FOR EACH STATEMENT EXECUTE FUNCTION "lineage_changes_updated"();--> statement-breakpoint
CREATE TRIGGER "lineage_changes_deleted" AFTER DELETE ON "asset_check_results"
  REFERENCING OLD TABLE AS "old_rows" FOR EACH STATEMENT EXECUTE FUNCTION "lineage_changes_deleted"();--> statement-breakpoint
CREATE TRIGGER "lineage_changes_inserted" AFTER INSERT ON "asset_check_waivers"
  REFERENCING NEW TABLE AS "new_rows" FOR EACH STATEMENT EXECUTE FUNCTION "lineage_changes_inserted"();--> statement-breakpoint
CREATE TRIGGER "lineage_changes_updated" AFTER UPDATE ON "asset_check_waivers"
  REFERENCING OLD TABLE AS "old_rows" NEW TABLE AS "new_rows" FOR EACH STATEMENT EXECUTE FUNCTION "lineage_changes_updated"();--> statement-breakpoint
CREATE TRIGGER "lineage_changes_deleted" AFTER DELETE ON "asset_check_waivers"
  REFERENCING OLD TABLE AS "old_rows" FOR EACH STATEMENT EXECUTE FUNCTION "lineage_changes_deleted"();--> statement-breakpoint
CREATE TRIGGER "lineage_changes_inserted" AFTER INSERT ON "dynamic_partition_keys"
  REFERENCING NEW TABLE AS "new_rows" FOR EACH STATEMENT EXECUTE FUNCTION "lineage_changes_inserted"();--> statement-breakpoint
CREATE TRIGGER "lineage_changes_updated" AFTER UPDATE ON "dynamic_partition_keys"
  REFERENCING OLD TABLE AS "old_rows" NEW TABLE AS "new_rows" FOR EACH STATEMENT EXECUTE FUNCTION "lineage_changes_updated"();--> statement-breakpoint
CREATE TRIGGER "lineage_changes_deleted" AFTER DELETE ON "dynamic_partition_keys"
  REFERENCING OLD TABLE AS "old_rows" FOR EACH STATEMENT EXECUTE FUNCTION "lineage_changes_deleted"();
