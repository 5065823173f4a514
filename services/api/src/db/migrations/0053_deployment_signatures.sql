-- A deployment version may carry its customer's signature (`outpost deploy --sign-key`): a compact
-- JWS over everything that decides what its runs execute. The API stores it as it came and hands it
-- to workers with every claim; workers started with `--trust-key` verify it and run nothing unsigned
-- (docs/security.md, "Signed deployments"). The signature is part of a version's identity: the same
-- content re-signed by another key (a rotation) is a new version, so new runs carry the new
-- signature. Unsigned versions keep the content hash they had.
ALTER TABLE "deployment_versions" ADD COLUMN "signature" text;
