-- The organisation's people are listed a page at a time in the order they joined it (created_at, then
-- user_id): each page reads the next `limit` entries of this index from the cursor, however many
-- people the organisation has (GET /organisations/:org/members).
CREATE INDEX "organisation_members_joined_idx" ON "organisation_members" USING btree ("organisation_id","created_at","user_id");
