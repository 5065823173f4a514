-- Organisations own workspaces (docs/organisations.md), and a workspace can be archived.
--
-- An installation from before organisations gets one organisation per workspace, with the same
-- slug and name: a single-workspace installation ends up with exactly one, and workspaces that
-- different people created on one server stay apart, since an organisation's owners read every
-- workspace in it. The workspace's active owners become the organisation's owners; its other
-- active members become its members, which grants nothing they did not have.
CREATE TABLE organisations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug text NOT NULL,
  name text NOT NULL,
  created_by uuid CONSTRAINT organisations_created_by_users_id_fk REFERENCES users(id),
  created_at timestamp(3) with time zone NOT NULL DEFAULT now(),
  CONSTRAINT organisations_slug_unique UNIQUE (slug)
);
--> statement-breakpoint
CREATE TABLE organisation_members (
  organisation_id uuid NOT NULL,
  user_id uuid NOT NULL,
  role text NOT NULL,
  created_at timestamp(3) with time zone NOT NULL DEFAULT now(),
  updated_at timestamp(3) with time zone NOT NULL DEFAULT now(),
  CONSTRAINT organisation_members_organisation_id_user_id_pk PRIMARY KEY (organisation_id, user_id),
  CONSTRAINT organisation_members_organisation_id_organisations_id_fk FOREIGN KEY (organisation_id) REFERENCES organisations(id),
  CONSTRAINT organisation_members_user_id_users_id_fk FOREIGN KEY (user_id) REFERENCES users(id),
  CONSTRAINT organisation_members_role_ck CHECK (role IN ('owner', 'admin', 'auditor', 'member'))
);
--> statement-breakpoint
CREATE INDEX organisation_members_user_idx ON organisation_members (user_id);
--> statement-breakpoint
ALTER TABLE workspaces ADD COLUMN organisation_id uuid
  CONSTRAINT workspaces_organisation_id_organisations_id_fk REFERENCES organisations(id);
--> statement-breakpoint
ALTER TABLE workspaces ADD COLUMN archived_at timestamp(3) with time zone;
--> statement-breakpoint
INSERT INTO organisations (slug, name, created_by, created_at) SELECT slug, name, created_by, created_at FROM workspaces;
--> statement-breakpoint
UPDATE workspaces w SET organisation_id = o.id FROM organisations o WHERE o.slug = w.slug;
--> statement-breakpoint
INSERT INTO organisation_members (organisation_id, user_id, role, created_at)
SELECT w.organisation_id, m.user_id, CASE WHEN m.role = 'owner' THEN 'owner' ELSE 'member' END, m.created_at
FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
WHERE m.state = 'active';
--> statement-breakpoint
ALTER TABLE workspaces ALTER COLUMN organisation_id SET NOT NULL;
--> statement-breakpoint
CREATE INDEX workspaces_organisation_idx ON workspaces (organisation_id);
--> statement-breakpoint
-- Whoever holds an active membership of a workspace is a person of its organisation: kept true here,
-- whichever way the membership became active (added, invitation accepted, first single sign-on).
-- An organisation without an owner (a new installation, whose first workspace is set up with its
-- owner key) takes the first person who becomes owner of one of its workspaces as its owner.
CREATE FUNCTION organisation_member_of_membership() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  org uuid;
BEGIN
  SELECT organisation_id INTO org FROM workspaces WHERE id = NEW.workspace_id;
  IF NEW.role = 'owner' AND NOT EXISTS (
    SELECT 1 FROM organisation_members WHERE organisation_id = org AND role = 'owner'
  ) THEN
    INSERT INTO organisation_members (organisation_id, user_id, role) VALUES (org, NEW.user_id, 'owner')
    ON CONFLICT (organisation_id, user_id) DO UPDATE SET role = 'owner', updated_at = now();
  ELSE
    INSERT INTO organisation_members (organisation_id, user_id, role) VALUES (org, NEW.user_id, 'member')
    ON CONFLICT (organisation_id, user_id) DO NOTHING;
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER memberships_organisation_member
AFTER INSERT OR UPDATE OF state, role ON memberships
FOR EACH ROW WHEN (NEW.state = 'active')
EXECUTE FUNCTION organisation_member_of_membership();
--> statement-breakpoint
-- A person whose last membership of the organisation's workspaces ends, and who holds no role of
-- their own in it, leaves it: the organisation's people are the people of its workspaces.
CREATE FUNCTION organisation_member_after_membership() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM organisation_members om
  USING workspaces w
  WHERE w.id = OLD.workspace_id AND om.organisation_id = w.organisation_id
    AND om.user_id = OLD.user_id AND om.role = 'member'
    AND NOT EXISTS (
      SELECT 1 FROM memberships m JOIN workspaces ow ON ow.id = m.workspace_id
      WHERE m.user_id = OLD.user_id AND ow.organisation_id = w.organisation_id AND m.state = 'active');
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER memberships_organisation_member_left
AFTER DELETE ON memberships
FOR EACH ROW EXECUTE FUNCTION organisation_member_after_membership();
--> statement-breakpoint
-- How a person's session was opened. A workspace's single sign-on is trusted by that workspace only
-- (its owner chose the provider), so only a session opened with the account's password moves to
-- another workspace or acts on an organisation; sessions from before this record their method in
-- their label.
ALTER TABLE sessions ADD COLUMN opened_by text;
--> statement-breakpoint
UPDATE sessions SET opened_by = 'password' WHERE user_id IS NOT NULL AND label LIKE 'password sign-in (%';
--> statement-breakpoint
UPDATE sessions SET opened_by = 'single-sign-on' WHERE user_id IS NOT NULL AND label LIKE 'single sign-on (%';
