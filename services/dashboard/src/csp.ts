import { z } from 'zod';

// zod compiles fast object parsers with `new Function`, which a `default-src 'self'` policy forbids;
// jitless mode parses without it and skips the probe that would otherwise log a policy violation.
z.config({ jitless: true });
