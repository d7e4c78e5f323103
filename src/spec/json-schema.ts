// JSON Schema of the user-facing spec (input shape: defaults optional), for editors (yaml-language-server,
// VS Code) and for the REST API's OpenAPI document. Generated from the same zod schema that validates.
import { z } from 'zod';
import { Cluster } from './schema.js';

/**
 * The JSON Schema (draft 2020-12) of the spec as users write it (defaults optional), made from the same schema that
 * validates.
 */
export function clusterJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(Cluster, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return {
    $id: 'https://airgap-k8s.dev/schema/cluster.schema.json',
    title: 'airgap-k8s Cluster (airgap-k8s/v1alpha1)',
    ...schema,
  };
}

/** The JSON Schema as the text of schema/cluster.schema.json. */
export function clusterJsonSchemaText(): string {
  return `${JSON.stringify(clusterJsonSchema(), null, 2)}\n`;
}
