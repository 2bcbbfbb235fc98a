# The AWS secrets engine: engineers get STS credentials of the deploy role (POST aws/sts/<role>).
# No access keys here: Vault uses the credentials of the environment it runs in (instance or task role).
resource "vault_aws_secret_backend" "aws" {
  path                      = "aws"
  description               = "Short-lived AWS credentials for engineers"
  region                    = var.aws_region
  default_lease_ttl_seconds = var.aws_sts_ttl.default
  max_lease_ttl_seconds     = var.aws_sts_ttl.max
}

resource "vault_aws_secret_backend_role" "deploy" {
  backend         = vault_aws_secret_backend.aws.path
  name            = var.aws_role_name
  credential_type = "assumed_role"
  role_arns       = [var.deploy_role_arn]
  default_sts_ttl = var.aws_sts_ttl.default
  max_sts_ttl     = var.aws_sts_ttl.max
}

# The AWS auth method, iam type: a Lambda function signs sts:GetCallerIdentity with its own role's
# credentials and Vault replays it to STS. No secret lives in the function.
resource "vault_auth_backend" "aws" {
  type        = "aws"
  path        = "aws"
  description = "Lambda functions, by their IAM role"

  tune {
    default_lease_ttl = "15m"
    max_lease_ttl     = "1h"
  }
}

resource "vault_aws_auth_backend_client" "aws" {
  backend                    = vault_auth_backend.aws.path
  iam_server_id_header_value = var.iam_server_id
  sts_endpoint               = var.sts_endpoint
  sts_region                 = var.sts_region
}

resource "vault_aws_auth_backend_role" "lambda" {
  for_each = var.lambda_functions

  backend                  = vault_auth_backend.aws.path
  role                     = each.key
  auth_type                = "iam"
  bound_iam_principal_arns = [each.value]
  # Binds the role's unique id, not its name: a deleted and recreated role of the same name gets nothing.
  # Vault needs iam:GetRole for this.
  resolve_aws_unique_ids = true

  token_policies = [vault_policy.lambda[each.key].name]
  token_ttl      = 900
  token_max_ttl  = 3600

  depends_on = [vault_aws_auth_backend_client.aws]
}
