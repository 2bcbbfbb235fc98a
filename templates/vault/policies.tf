# What an engineer's token may do, beyond Vault's default policy (lookup, renew and revoke itself).
resource "vault_policy" "engineer" {
  name   = "engineer"
  policy = <<-EOT
    # STS credentials of the deploy role (tng: POST aws/sts/<role>).
    path "${vault_aws_secret_backend.aws.path}/sts/${vault_aws_secret_backend_role.deploy.name}" {
      capabilities = ["update"]
    }

    # Terraform's Vault provider works with a short-lived child token.
    path "auth/token/create" {
      capabilities = ["update"]
    }

    # Write (never read) the Lambda functions' secrets: the lambda template's KV v2 secret.
    path "${vault_mount.kv.path}/data/lambda/*" {
      capabilities = ["create", "update", "delete"]
    }
    path "${vault_mount.kv.path}/metadata/lambda/*" {
      capabilities = ["delete"]
    }
  EOT
}

# Each function may read its own secret and nothing else.
resource "vault_policy" "lambda" {
  for_each = var.lambda_functions

  name   = "lambda-${each.key}"
  policy = <<-EOT
    path "${vault_mount.kv.path}/data/lambda/${each.key}" {
      capabilities = ["read"]
    }
  EOT
}
