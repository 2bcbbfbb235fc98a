/**
 * The resource types and arguments the templates may use, taken from the providers' documentation
 * (the "Argument Reference" of each page; the hashicorp/aws pages at
 * registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/<type without aws_>, the
 * hashicorp/vault ones at registry.terraform.io/providers/hashicorp/vault/latest/docs/resources/<type
 * without vault_>), and the Terraform language's own blocks and meta-arguments. Exported attributes
 * (arn, version_arn, …) are not arguments and are not listed. A name not listed here fails the check,
 * so a misspelt argument, block or resource type cannot slip through. Deprecated arguments that current
 * provider versions removed (e.g. `policies`/`ttl` on vault_jwt_auth_backend_role) are left out on purpose.
 */

export interface BlockSchema {
  attributes: readonly string[];
  blocks?: Readonly<Record<string, BlockSchema>>;
}

const block = (attributes: readonly string[], blocks?: Record<string, BlockSchema>): BlockSchema => ({ attributes, blocks });

// ---- hashicorp/vault ----

/** The "Common Token Arguments" of every Vault auth role resource. */
const VAULT_TOKEN_ARGUMENTS = [
  'token_ttl',
  'token_max_ttl',
  'token_period',
  'token_policies',
  'token_bound_cidrs',
  'token_explicit_max_ttl',
  'token_no_default_policy',
  'token_num_uses',
  'token_type',
] as const;

/** The "Common Mount Arguments" of every resource that mounts a secrets engine. */
const VAULT_MOUNT_ARGUMENTS = [
  'description',
  'default_lease_ttl_seconds',
  'max_lease_ttl_seconds',
  'audit_non_hmac_response_keys',
  'audit_non_hmac_request_keys',
  'local',
  'options',
  'seal_wrap',
  'external_entropy_access',
  'allowed_managed_keys',
  'listing_visibility',
  'passthrough_request_headers',
  'allowed_response_headers',
  'delegated_auth_accessors',
  'plugin_version',
  'identity_token_key',
] as const;

/** The `tune` block of auth mounts. */
const VAULT_AUTH_TUNE = block([
  'default_lease_ttl',
  'max_lease_ttl',
  'audit_non_hmac_response_keys',
  'audit_non_hmac_request_keys',
  'listing_visibility',
  'passthrough_request_headers',
  'allowed_response_headers',
  'token_type',
]);

const VAULT_RESOURCES: Record<string, BlockSchema> = {
  vault_jwt_auth_backend: block(
    [
      'namespace',
      'path',
      'type',
      'description',
      'oidc_discovery_url',
      'oidc_discovery_ca_pem',
      'oidc_client_id',
      'oidc_client_secret',
      'oidc_response_mode',
      'oidc_response_types',
      'jwks_url',
      'jwks_ca_pem',
      'jwt_validation_pubkeys',
      'bound_issuer',
      'jwt_supported_algs',
      'default_role',
      'provider_config',
      'local',
    ],
    { tune: VAULT_AUTH_TUNE },
  ),
  vault_jwt_auth_backend_role: block([
    'namespace',
    'role_name',
    'role_type',
    'bound_audiences',
    'user_claim',
    'bound_subject',
    'bound_claims',
    'bound_claims_type',
    'claim_mappings',
    'oidc_scopes',
    'groups_claim',
    'backend',
    'allowed_redirect_uris',
    'clock_skew_leeway',
    'expiration_leeway',
    'not_before_leeway',
    'verbose_oidc_logging',
    'max_age',
    'disable_bound_claims_parsing',
    ...VAULT_TOKEN_ARGUMENTS,
  ]),
  vault_auth_backend: block(['namespace', 'type', 'path', 'description', 'local'], { tune: VAULT_AUTH_TUNE }),
  vault_aws_auth_backend_client: block([
    'namespace',
    'backend',
    'access_key',
    'secret_key',
    'secret_key_wo',
    'secret_key_wo_version',
    'identity_token_audience',
    'identity_token_ttl',
    'role_arn',
    'ec2_endpoint',
    'iam_endpoint',
    'sts_endpoint',
    'sts_region',
    'use_sts_region_from_client',
    'iam_server_id_header_value',
    'max_retries',
    'allowed_sts_header_values',
    'rotation_period',
    'rotation_schedule',
    'rotation_window',
    'disable_automated_rotation',
  ]),
  vault_aws_auth_backend_role: block([
    'namespace',
    'backend',
    'role',
    'auth_type',
    'bound_ami_ids',
    'bound_account_ids',
    'bound_regions',
    'bound_vpc_ids',
    'bound_subnet_ids',
    'bound_iam_role_arns',
    'bound_iam_instance_profile_arns',
    'role_tag',
    'bound_iam_principal_arns',
    'inferred_entity_type',
    'inferred_aws_region',
    'resolve_aws_unique_ids',
    'allow_instance_migration',
    'disallow_reauthentication',
    ...VAULT_TOKEN_ARGUMENTS,
  ]),
  vault_aws_secret_backend: block([
    'namespace',
    'access_key',
    'secret_key',
    'region',
    'path',
    'disable_remount',
    'iam_endpoint',
    'sts_endpoint',
    'sts_region',
    'sts_fallback_endpoints',
    'sts_fallback_regions',
    'identity_token_audience',
    'identity_token_ttl',
    'max_retries',
    'role_arn',
    'rotation_period',
    'rotation_schedule',
    'rotation_window',
    'disable_automated_rotation',
    'username_template',
    ...VAULT_MOUNT_ARGUMENTS,
  ]),
  vault_aws_secret_backend_role: block([
    'namespace',
    'backend',
    'name',
    'credential_type',
    'role_arns',
    'policy_arns',
    'policy_document',
    'iam_groups',
    'default_sts_ttl',
    'max_sts_ttl',
    'user_path',
    'permissions_boundary_arn',
  ]),
  vault_mount: block(['namespace', 'path', 'type', ...VAULT_MOUNT_ARGUMENTS]),
  vault_policy: block(['namespace', 'name', 'policy']),
  vault_kv_secret_v2: block(
    ['namespace', 'mount', 'name', 'cas', 'options', 'disable_read', 'delete_all_versions', 'data_json', 'data_json_wo', 'data_json_wo_version'],
    { custom_metadata: block(['max_versions', 'cas_required', 'delete_version_after', 'data']) },
  ),
};

// ---- hashicorp/aws ----

const TIMEOUTS = block(['create', 'update', 'delete']);

const SECURITY_GROUP_RULE = block(['from_port', 'to_port', 'protocol', 'cidr_blocks', 'ipv6_cidr_blocks', 'prefix_list_ids', 'security_groups', 'self', 'description']);

const AWS_RESOURCES: Record<string, BlockSchema> = {
  aws_lambda_function: block(
    [
      'function_name',
      'role',
      'architectures',
      'code_signing_config_arn',
      'description',
      'filename',
      'handler',
      'image_uri',
      'kms_key_arn',
      'layers',
      'memory_size',
      'package_type',
      'publish',
      'reserved_concurrent_executions',
      'replace_security_groups_on_destroy',
      'replacement_security_group_ids',
      'runtime',
      's3_bucket',
      's3_key',
      's3_object_version',
      'skip_destroy',
      'source_code_hash',
      'tags',
      'timeout',
    ],
    {
      dead_letter_config: block(['target_arn']),
      environment: block(['variables']),
      ephemeral_storage: block(['size']),
      file_system_config: block(['arn', 'local_mount_path']),
      image_config: block(['command', 'entry_point', 'working_directory']),
      snap_start: block(['apply_on']),
      tracing_config: block(['mode']),
      vpc_config: block(['security_group_ids', 'subnet_ids']),
      timeouts: TIMEOUTS,
    },
  ),
  aws_lambda_code_signing_config: block(['description'], {
    allowed_publishers: block(['signing_profile_version_arns']),
    policies: block(['untrusted_artifact_on_deployment']),
  }),
  aws_signer_signing_profile: block(['platform_id', 'name', 'name_prefix', 'tags'], {
    signature_validity_period: block(['value', 'type']),
  }),
  aws_signer_signing_job: block(['profile_name', 'ignore_signing_job_failure', 'profile_owner'], {
    source: block([], { s3: block(['bucket', 'key', 'version']) }),
    destination: block([], { s3: block(['bucket', 'prefix']) }),
  }),
  aws_s3_object: block([
    'bucket',
    'key',
    'acl',
    'bucket_key_enabled',
    'cache_control',
    'content',
    'content_base64',
    'content_disposition',
    'content_encoding',
    'content_language',
    'content_type',
    'etag',
    'force_destroy',
    'kms_key_id',
    'metadata',
    'object_lock_legal_hold_status',
    'object_lock_mode',
    'object_lock_retain_until_date',
    'server_side_encryption',
    'source',
    'source_hash',
    'storage_class',
    'tags',
    'website_redirect',
  ]),
  aws_sqs_queue: block(
    [
      'content_based_deduplication',
      'deduplication_scope',
      'delay_seconds',
      'fifo_queue',
      'fifo_throughput_limit',
      'kms_data_key_reuse_period_seconds',
      'kms_master_key_id',
      'max_message_size',
      'message_retention_seconds',
      'name',
      'name_prefix',
      'policy',
      'receive_wait_time_seconds',
      'redrive_allow_policy',
      'redrive_policy',
      'sqs_managed_sse_enabled',
      'tags',
      'visibility_timeout_seconds',
    ],
    { timeouts: TIMEOUTS },
  ),
  aws_kms_key: block(
    [
      'region',
      'description',
      'key_usage',
      'custom_key_store_id',
      'customer_master_key_spec',
      'policy',
      'bypass_policy_lockout_safety_check',
      'deletion_window_in_days',
      'is_enabled',
      'enable_key_rotation',
      'rotation_period_in_days',
      'multi_region',
      'tags',
      'xks_key_id',
    ],
    { timeouts: block(['create']) },
  ),
  aws_kms_alias: block(['name', 'name_prefix', 'target_key_id']),
  aws_iam_role: block(
    ['assume_role_policy', 'description', 'force_detach_policies', 'max_session_duration', 'name', 'name_prefix', 'path', 'permissions_boundary', 'tags'],
  ),
  aws_iam_role_policy: block(['name', 'name_prefix', 'policy', 'role']),
  aws_iam_role_policy_attachment: block(['role', 'policy_arn']),
  aws_security_group: block(['description', 'name', 'name_prefix', 'revoke_rules_on_delete', 'tags', 'vpc_id'], {
    egress: SECURITY_GROUP_RULE,
    ingress: SECURITY_GROUP_RULE,
    timeouts: block(['create', 'delete']),
  }),
  aws_cloudwatch_log_group: block(['name', 'name_prefix', 'skip_destroy', 'log_group_class', 'retention_in_days', 'kms_key_id', 'tags']),
};

const PRINCIPALS = block(['type', 'identifiers']);

const AWS_DATA_SOURCES: Record<string, BlockSchema> = {
  aws_iam_policy_document: block(['override_policy_documents', 'policy_id', 'source_policy_documents', 'version'], {
    statement: block(['sid', 'effect', 'actions', 'not_actions', 'resources', 'not_resources'], {
      principals: PRINCIPALS,
      not_principals: PRINCIPALS,
      condition: block(['test', 'variable', 'values']),
    }),
  }),
  aws_partition: block([]),
};

export const RESOURCE_SCHEMAS: Readonly<Record<string, BlockSchema>> = { ...VAULT_RESOURCES, ...AWS_RESOURCES };
export const DATA_SOURCE_SCHEMAS: Readonly<Record<string, BlockSchema>> = AWS_DATA_SOURCES;

// ---- the Terraform language ----

const CONDITION = block(['condition', 'error_message']);

const LANGUAGE: Record<string, BlockSchema> = {
  variable: block(['type', 'default', 'description', 'sensitive', 'nullable', 'ephemeral'], { validation: CONDITION }),
  output: block(['value', 'description', 'sensitive', 'ephemeral', 'depends_on'], { precondition: CONDITION }),
  terraform: block(['required_version', 'required_providers', 'experiments'], { backend: block([]), cloud: block([]) }),
};

const RESOURCE_META = ['count', 'for_each', 'depends_on', 'provider'];
const RESOURCE_LIFECYCLE = block(['create_before_destroy', 'prevent_destroy', 'ignore_changes', 'replace_triggered_by'], {
  precondition: CONDITION,
  postcondition: CONDITION,
});
const DATA_LIFECYCLE = block([], { precondition: CONDITION, postcondition: CONDITION });
const DYNAMIC_KEYS = new Set(['for_each', 'iterator', 'labels', 'content']);
const TOP_LEVEL = new Set(['terraform', 'provider', 'variable', 'locals', 'output', 'resource', 'data', 'module', 'moved', 'import', 'check', 'removed']);

// ---- the check ----

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** hcl2json gives every block as an array of bodies (labels become object keys). */
function bodies(value: unknown): Json[] | undefined {
  return Array.isArray(value) && value.every(isObject) ? value : undefined;
}

function checkBody(body: Json, schema: BlockSchema, where: string, what: string, errors: string[], meta: { attributes: readonly string[]; blocks: Record<string, BlockSchema> } = { attributes: [], blocks: {} }): void {
  for (const [key, value] of Object.entries(body)) {
    if (key === 'dynamic' && isObject(value)) {
      for (const [name, instances] of Object.entries(value)) {
        const nested = schema.blocks?.[name];
        const list = bodies(instances);
        if (nested === undefined || list === undefined) {
          errors.push(`${where}: dynamic "${name}" is not a block of ${what}`);
          continue;
        }
        for (const instance of list) {
          for (const k of Object.keys(instance)) if (!DYNAMIC_KEYS.has(k)) errors.push(`${where}: dynamic "${name}" has an unknown argument ${k}`);
          for (const content of bodies(instance.content) ?? []) checkBody(content, nested, `${where}.${name}`, `${what}.${name}`, errors);
        }
      }
      continue;
    }
    const nested = schema.blocks?.[key] ?? meta.blocks[key];
    if (nested !== undefined) {
      const list = bodies(value);
      if (list === undefined) errors.push(`${where}: ${key} must be a block of ${what}, not an argument`);
      else for (const item of list) checkBody(item, nested, `${where}.${key}`, `${what}.${key}`, errors);
      continue;
    }
    if (!schema.attributes.includes(key) && !meta.attributes.includes(key)) errors.push(`${where}: ${key} is not an argument of ${what}`);
  }
}

/** Checks one parsed .tf file (hcl2json's output); returns one message per unknown name. */
export function checkTerraform(file: string, parsed: Json): string[] {
  const errors: string[] = [];
  for (const [kind, content] of Object.entries(parsed)) {
    if (!TOP_LEVEL.has(kind)) {
      errors.push(`${file}: ${kind} is not a Terraform block`);
      continue;
    }
    if (kind === 'resource' || kind === 'data') {
      const schemas = kind === 'resource' ? RESOURCE_SCHEMAS : DATA_SOURCE_SCHEMAS;
      const meta = { attributes: RESOURCE_META, blocks: { lifecycle: kind === 'resource' ? RESOURCE_LIFECYCLE : DATA_LIFECYCLE } };
      for (const [type, named] of Object.entries(content as Json)) {
        const schema = schemas[type];
        if (schema === undefined) {
          errors.push(`${file}: ${kind} type ${type} is not in the allow-list`);
          continue;
        }
        for (const [name, list] of Object.entries(named as Json)) {
          for (const body of bodies(list) ?? []) checkBody(body, schema, `${file}: ${kind} ${type}.${name}`, type, errors, meta);
        }
      }
    } else if (kind === 'terraform') {
      for (const body of bodies(content) ?? []) checkBody(body, LANGUAGE.terraform as BlockSchema, `${file}: terraform`, 'terraform', errors);
    } else if (kind === 'variable' || kind === 'output') {
      const schema = LANGUAGE[kind] as BlockSchema;
      for (const [name, list] of Object.entries(content as Json)) {
        for (const body of bodies(list) ?? []) checkBody(body, schema, `${file}: ${kind} ${name}`, kind, errors);
      }
    }
  }
  return errors;
}
