// Types of the generated standalone validator (src/runtime/pack-schema-codegen.ts).
import type { ErrorObject } from 'ajv';

export declare const validate: ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };
export default validate;
