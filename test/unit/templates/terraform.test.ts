import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe, it } from 'node:test';
import { loadModule, nested, parseTf, resource, templateFiles, type Body, type Module } from './helpers.ts';

/** A reference to `address` as hcl2json writes a bare expression. */
const ref = (address: string) => `\${${address}}`;

function statements(module: Module, name: string): Body[] {
  return resource(module, 'aws_iam_policy_document', name, 'data').statement as Body[];
}

describe('every template .tf', () => {
  it('parses with HashiCorp HCL parser', async () => {
    const files = await templateFiles('.tf');
    assert.ok(files.some((f) => f.includes('/lambda/')) && files.some((f) => f.includes('/vault/')));
    for (const path of files) await assert.doesNotReject(parseTf(path), path);
  });

  it('rejects what is not HCL (the parser really parses)', async () => {
    const { parse } = await import('@cdktf/hcl2json');
    await assert.rejects(parse('broken.tf', 'resource "aws_sqs_queue" "q" {\n  name = \n'));
  });

  it('holds no credentials: no access or secret keys, no key material, no long-lived tokens', async () => {
    for (const path of await templateFiles('')) {
      const text = await readFile(path, 'utf8');
      assert.doesNotMatch(text, /\b(access_key|secret_key)\s*=/, path);
      assert.doesNotMatch(text, /\bAKIA[0-9A-Z]{16}\b|-----BEGIN [A-Z ]*PRIVATE KEY-----|\bhv[sb]\.[A-Za-z0-9_-]{20,}/, path);
    }
  });
});

describe('lambda template', () => {
  let lambda: Module;
  before(async () => {
    lambda = await loadModule('lambda');
  });

  it('enforces code signing with its own AWS Signer profile', () => {
    const fn = resource(lambda, 'aws_lambda_function', 'this');
    assert.equal(fn.code_signing_config_arn, ref('aws_lambda_code_signing_config.this.arn'));
    const csc = resource(lambda, 'aws_lambda_code_signing_config', 'this');
    assert.equal(nested(csc, 'policies').untrusted_artifact_on_deployment, 'Enforce');
    assert.deepEqual(nested(csc, 'allowed_publishers').signing_profile_version_arns, [ref('aws_signer_signing_profile.this.version_arn')]);
    assert.equal(resource(lambda, 'aws_signer_signing_profile', 'this').platform_id, 'AWSLambda-SHA384-ECDSA');
    // The deployed package is the signed copy, made from the uploaded object's exact version.
    assert.equal(fn.s3_key, ref('aws_signer_signing_job.this.signed_object[0].s3[0].key'));
    assert.equal(fn.s3_bucket, ref('aws_signer_signing_job.this.signed_object[0].s3[0].bucket'));
    const job = resource(lambda, 'aws_signer_signing_job', 'this');
    assert.equal(job.profile_name, ref('aws_signer_signing_profile.this.name'));
    assert.equal(nested(nested(job, 'source'), 's3').version, ref('aws_s3_object.package.version_id'));
    assert.equal(job.ignore_signing_job_failure, false);
  });

  it('runs in the given private subnets behind its own security group', () => {
    const vpc = nested(resource(lambda, 'aws_lambda_function', 'this'), 'vpc_config');
    assert.equal(vpc.subnet_ids, ref('var.private_subnet_ids'));
    assert.deepEqual(vpc.security_group_ids, [ref('aws_security_group.this.id')]);
    const subnets = lambda.variables.private_subnet_ids as Body;
    assert.equal(subnets.default, undefined, 'subnets have no default');
    assert.match(nested(subnets, 'validation').condition, /length\(var\.private_subnet_ids\) > 0/);
    const group = resource(lambda, 'aws_security_group', 'this');
    assert.equal(group.ingress, undefined, 'no inbound rule');
    assert.equal(group.vpc_id, ref('var.vpc_id'));
  });

  it('sends failures to an SQS queue encrypted with its own rotating KMS key, not alias/aws/sqs', () => {
    const fn = resource(lambda, 'aws_lambda_function', 'this');
    assert.equal(nested(fn, 'dead_letter_config').target_arn, ref('aws_sqs_queue.dlq.arn'));
    const queue = resource(lambda, 'aws_sqs_queue', 'dlq');
    assert.equal(queue.kms_master_key_id, ref('aws_kms_key.dlq.arn'));
    assert.equal(queue.sqs_managed_sse_enabled, undefined);
    const key = resource(lambda, 'aws_kms_key', 'dlq');
    assert.equal(key.enable_key_rotation, true);
    for (const { file, json } of lambda.files) assert.doesNotMatch(JSON.stringify(json), /alias\/aws\/sqs/, file);
  });

  it('reserves concurrency, at least 1', () => {
    assert.equal(resource(lambda, 'aws_lambda_function', 'this').reserved_concurrent_executions, ref('var.reserved_concurrency'));
    const variable = lambda.variables.reserved_concurrency as Body;
    assert.ok(typeof variable.default === 'number' && variable.default >= 1);
    assert.match(nested(variable, 'validation').condition, /var\.reserved_concurrency >= 1/);
  });

  it('tags every taggable resource tng:audit-id from TNG_AUDIT_ID, which var.tags cannot override', () => {
    assert.match(String(lambda.locals.tags), /^\$\{merge\(var\.tags, \{ "tng:audit-id" = var\.tng_audit_id \}\)\}$/);
    const taggable = ['aws_lambda_function', 'aws_sqs_queue', 'aws_kms_key', 'aws_iam_role', 'aws_security_group', 'aws_cloudwatch_log_group', 'aws_signer_signing_profile', 'aws_s3_object'];
    for (const type of taggable) {
      for (const [name, body] of Object.entries(lambda.resources[type] ?? {})) assert.equal(body.tags, ref('local.tags'), `${type}.${name}`);
    }
    const audit = lambda.variables.tng_audit_id as Body;
    assert.equal(audit.default, undefined, 'the audit id must be given');
    assert.match(audit.description, /TNG_AUDIT_ID/);
    assert.match(audit.description, /TF_VAR_tng_audit_id=\$TNG_AUDIT_ID/);
    assert.match(nested(audit, 'validation').condition, /regex\(/);
  });

  it('gives the role exactly VPC access, SendMessage on the queue, and its key', () => {
    const fn = resource(lambda, 'aws_lambda_function', 'this');
    assert.equal(fn.role, ref('aws_iam_role.this.arn'));
    assert.equal(resource(lambda, 'aws_iam_role', 'this').assume_role_policy, ref('data.aws_iam_policy_document.assume.json'));
    const [assume] = statements(lambda, 'assume');
    assert.deepEqual(assume?.actions, ['sts:AssumeRole']);
    assert.deepEqual(nested(assume as Body, 'principals'), { type: 'Service', identifiers: ['lambda.amazonaws.com'] });
    assert.match(resource(lambda, 'aws_iam_role_policy_attachment', 'vpc_access').policy_arn, /:iam::aws:policy\/service-role\/AWSLambdaVPCAccessExecutionRole$/);
    assert.deepEqual(
      statements(lambda, 'this').map((s) => ({ actions: s.actions, resources: s.resources })),
      [
        { actions: ['sqs:SendMessage'], resources: [ref('aws_sqs_queue.dlq.arn')] },
        { actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [ref('aws_kms_key.dlq.arn')] },
      ],
    );
    assert.equal(resource(lambda, 'aws_iam_role_policy', 'this').policy, ref('data.aws_iam_policy_document.this.json'));
  });

  it('tells the function how to reach Vault, and nothing secret', () => {
    const variables = nested(resource(lambda, 'aws_lambda_function', 'this'), 'environment').variables as Record<string, string>;
    assert.equal(variables.VAULT_ADDR, ref('var.vault_addr'));
    assert.equal(variables.VAULT_AUTH_ROLE, ref('var.function_name'));
    assert.equal(variables.VAULT_IAM_SERVER_ID, ref('var.vault_iam_server_id'));
    assert.equal(variables.SECRET_PATH, ref('local.secret_path'));
    for (const name of Object.keys(variables)) assert.doesNotMatch(name, /TOKEN|PASSWORD|SECRET_KEY|ACCESS_KEY/, name);
    for (const value of Object.values(variables)) assert.match(value, /^\$\{(var|local)\.[a-z_]+\}$/);
  });

  it('keeps a KV v2 secret for the function, write-only so it never reaches plan or state', () => {
    const secret = resource(lambda, 'vault_kv_secret_v2', 'this');
    assert.equal(secret.mount, ref('var.vault_kv_mount'));
    assert.equal(secret.name, ref('local.secret_path'));
    assert.equal(lambda.locals.secret_path, 'lambda/${var.function_name}');
    assert.equal(secret.data_json_wo, ref('jsonencode(var.function_secret)'));
    assert.equal(secret.data_json, undefined);
    assert.equal(secret.disable_read, true);
    const variable = lambda.variables.function_secret as Body;
    assert.equal(variable.ephemeral, true);
    assert.equal(variable.sensitive, true);
    assert.equal(variable.default, undefined);
  });

  it('pins the providers and a Terraform that has write-only arguments', () => {
    const [terraform] = lambda.terraform;
    assert.equal(terraform?.required_version, '>= 1.11');
    const providers = nested(terraform as Body, 'required_providers');
    assert.equal(providers.aws.source, 'hashicorp/aws');
    assert.equal(providers.vault.source, 'hashicorp/vault');
  });
});

describe('vault template', () => {
  let vault: Module;
  before(async () => {
    vault = await loadModule('vault');
  });

  it('binds the JWT method to Dex', () => {
    const backend = resource(vault, 'vault_jwt_auth_backend', 'dex');
    assert.equal(backend.type, 'jwt');
    assert.equal(backend.oidc_discovery_url, ref('var.dex_issuer'));
    assert.equal(backend.bound_issuer, ref('var.dex_issuer'));
    assert.match(nested(vault.variables.dex_issuer as Body, 'validation').condition, /\^https:\/\//);
  });

  it('has the engineer role: jwt type, aud tng, email user, groups claim and bound groups, short tokens', () => {
    const role = resource(vault, 'vault_jwt_auth_backend_role', 'engineer');
    assert.equal(role.backend, ref('vault_jwt_auth_backend.dex.path'));
    assert.equal(role.role_name, 'engineer');
    assert.equal(role.role_type, 'jwt');
    assert.deepEqual(role.bound_audiences, [ref('var.tng_client_id')]);
    assert.equal((vault.variables.tng_client_id as Body).default, 'tng');
    assert.equal(role.user_claim, 'email');
    assert.equal(role.groups_claim, 'groups');
    assert.deepEqual(role.bound_claims, { groups: ref('join(",", var.engineer_groups)') });
    assert.match(nested(vault.variables.engineer_groups as Body, 'validation').condition, /length\(var\.engineer_groups\) > 0/);
    assert.equal(role.token_ttl, ref('var.engineer_token_ttl'));
    assert.ok((vault.variables.engineer_token_ttl as Body).default <= 900);
    assert.equal(role.token_max_ttl, ref('var.engineer_token_max_ttl'));
    assert.deepEqual(role.token_policies, [ref('vault_policy.engineer.name')]);
  });

  it('has the AWS secrets engine with an sts (assumed_role) role', () => {
    const engine = resource(vault, 'vault_aws_secret_backend', 'aws');
    assert.equal(engine.path, 'aws');
    const role = resource(vault, 'vault_aws_secret_backend_role', 'deploy');
    assert.equal(role.backend, ref('vault_aws_secret_backend.aws.path'));
    assert.equal(role.credential_type, 'assumed_role');
    assert.deepEqual(role.role_arns, [ref('var.deploy_role_arn')]);
    assert.equal((vault.variables.aws_role_name as Body).default, 'deploy');
  });

  it('has the AWS auth method, iam type, each role bound to a Lambda function role and requiring the server id header', () => {
    const backend = resource(vault, 'vault_auth_backend', 'aws');
    assert.equal(backend.type, 'aws');
    const client = resource(vault, 'vault_aws_auth_backend_client', 'aws');
    assert.equal(client.backend, ref('vault_auth_backend.aws.path'));
    assert.equal(client.iam_server_id_header_value, ref('var.iam_server_id'));
    assert.equal((vault.variables.iam_server_id as Body).default, undefined);
    const role = resource(vault, 'vault_aws_auth_backend_role', 'lambda');
    assert.equal(role.for_each, ref('var.lambda_functions'));
    assert.equal(role.backend, ref('vault_auth_backend.aws.path'));
    assert.equal(role.role, ref('each.key'));
    assert.equal(role.auth_type, 'iam');
    assert.deepEqual(role.bound_iam_principal_arns, [ref('each.value')]);
    assert.equal(role.resolve_aws_unique_ids, true);
    assert.deepEqual(role.token_policies, [ref('vault_policy.lambda[each.key].name')]);
    assert.match(nested(vault.variables.lambda_functions as Body, 'validation').condition, /:iam::\[0-9\]\{12\}:role\//);
  });

  it('mounts KV version 2 and has policies: engineer (STS, writing Lambda secrets) and one read-only per function', () => {
    const kv = resource(vault, 'vault_mount', 'kv');
    assert.equal(kv.type, 'kv');
    assert.deepEqual(kv.options, { version: '2' });
    const engineer = String(resource(vault, 'vault_policy', 'engineer').policy);
    assert.match(engineer, /path "\$\{vault_aws_secret_backend\.aws\.path\}\/sts\/\$\{vault_aws_secret_backend_role\.deploy\.name\}" \{\s*capabilities = \["update"\]/);
    assert.match(engineer, /path "\$\{vault_mount\.kv\.path\}\/data\/lambda\/\*" \{\s*capabilities = \["create", "update", "delete"\]/);
    assert.doesNotMatch(engineer, /"read"|"sudo"|path "\*"/);
    const lambda = resource(vault, 'vault_policy', 'lambda');
    assert.equal(lambda.for_each, ref('var.lambda_functions'));
    assert.match(String(lambda.policy), /^path "\$\{vault_mount\.kv\.path\}\/data\/lambda\/\$\{each\.key\}" \{\s*capabilities = \["read"\]\s*\}\s*$/);
  });
});
