import assert from 'node:assert/strict';
import { parse } from '@cdktf/hcl2json';
import { describe, it } from 'node:test';
import { parseTf, templateFiles } from './helpers.ts';
import { checkTerraform } from './provider-schema.ts';

/** The checker's messages for a fixture, sorted (the parser orders blocks by name). */
async function check(hcl: string): Promise<string[]> {
  return checkTerraform('fixture.tf', (await parse('fixture.tf', hcl)) as Record<string, unknown>).sort();
}

describe('provider schema allow-list', () => {
  it('every resource type and argument in every template .tf is documented', async () => {
    const files = await templateFiles('.tf');
    assert.ok(files.length >= 10, `expected the vault and lambda .tf files, found ${files.length}`);
    const errors: string[] = [];
    for (const path of files) {
      const { file, json } = await parseTf(path);
      errors.push(...checkTerraform(file, json));
    }
    assert.deepEqual(errors, []);
  });

  it('accepts a correct fixture, so the failures below come from the misspellings', async () => {
    assert.deepEqual(
      await check(`
resource "aws_lambda_function" "f" {
  function_name                  = "f"
  role                           = "arn"
  reserved_concurrent_executions = 2
  vpc_config {
    subnet_ids         = ["s"]
    security_group_ids = ["g"]
  }
}
`),
      [],
    );
  });

  it('fails a misspelt top-level argument', async () => {
    const errors = await check(`
resource "aws_lambda_function" "f" {
  function_name                 = "f"
  reserved_concurent_executions = 2
}
`);
    assert.deepEqual(errors, ['fixture.tf: resource aws_lambda_function.f: reserved_concurent_executions is not an argument of aws_lambda_function']);
  });

  it('fails a misspelt argument inside a nested block and inside a dynamic block', async () => {
    const errors = await check(`
resource "aws_lambda_code_signing_config" "c" {
  allowed_publishers {
    signing_profile_version_arns = []
  }
  policies {
    untrusted_artifacts_on_deployment = "Enforce"
  }
}
resource "aws_security_group" "g" {
  dynamic "egress" {
    for_each = [443]
    content {
      from_port  = egress.value
      to_port    = egress.value
      protocol   = "tcp"
      cidr_block = ["10.0.0.0/8"]
    }
  }
}
`);
    assert.deepEqual(errors, [
      'fixture.tf: resource aws_lambda_code_signing_config.c.policies: untrusted_artifacts_on_deployment is not an argument of aws_lambda_code_signing_config.policies',
      'fixture.tf: resource aws_security_group.g.egress: cidr_block is not an argument of aws_security_group.egress',
    ]);
  });

  it('fails an unknown resource type, a block written as an argument, and a misspelt Vault argument', async () => {
    const errors = await check(`
resource "aws_lambda_functions" "f" {
  function_name = "f"
}
resource "aws_lambda_function" "g" {
  vpc_config = { subnet_ids = [] }
}
resource "vault_jwt_auth_backend_role" "r" {
  role_name      = "engineer"
  bound_audience = ["tng"]
  policies       = ["old"]
}
data "aws_iam_policy_document" "d" {
  statement {
    action = ["s3:*"]
  }
}
`);
    assert.deepEqual(errors, [
      'fixture.tf: data aws_iam_policy_document.d.statement: action is not an argument of aws_iam_policy_document.statement',
      'fixture.tf: resource aws_lambda_function.g: vpc_config must be a block of aws_lambda_function, not an argument',
      'fixture.tf: resource type aws_lambda_functions is not in the allow-list',
      'fixture.tf: resource vault_jwt_auth_backend_role.r: bound_audience is not an argument of vault_jwt_auth_backend_role',
      'fixture.tf: resource vault_jwt_auth_backend_role.r: policies is not an argument of vault_jwt_auth_backend_role',
    ]);
  });

  it('checks variables, outputs, meta-arguments and the terraform block too', async () => {
    const errors = await check(`
terraform {
  required_versions = ">= 1.11"
}
variable "v" {
  type      = string
  sensitve  = true
}
output "o" {
  value       = 1
  descripton  = "x"
}
resource "aws_iam_role" "r" {
  count              = 1
  assume_role_policy = "{}"
  lifecycle {
    ignore_change = []
  }
}
`);
    assert.deepEqual(errors, [
      'fixture.tf: output o: descripton is not an argument of output',
      'fixture.tf: resource aws_iam_role.r.lifecycle: ignore_change is not an argument of aws_iam_role.lifecycle',
      'fixture.tf: terraform: required_versions is not an argument of terraform',
      'fixture.tf: variable v: sensitve is not an argument of variable',
    ]);
  });
});
