// Writes the pack schema's standalone validator (src/runtime/pack-schema-codegen.ts says why).
// Usage: npx tsx src/cli/compile-pack-schema.ts   (after any change to docs/soundstep-pack-1.schema.json)
import { writeFileSync } from 'node:fs';
import { GENERATED_VALIDATOR, packSchemaModule } from '../runtime/pack-schema-codegen';

writeFileSync(GENERATED_VALIDATOR, packSchemaModule());
console.log(`wrote ${GENERATED_VALIDATOR}`);
