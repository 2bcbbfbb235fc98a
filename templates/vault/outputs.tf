output "tng_init_flags" {
  description = "The flags for `tng init` that match this Vault (add --vault-addr)."
  value       = "--issuer ${var.dex_issuer} --client-id ${var.tng_client_id} --vault-role ${vault_jwt_auth_backend_role.engineer.role_name} --aws-role ${vault_aws_secret_backend_role.deploy.name}"
}

output "jwt_mount" {
  description = "Mount path of the JWT auth method (vault_auth_mount in the tng profile)."
  value       = vault_jwt_auth_backend.dex.path
}

output "aws_auth_mount" {
  description = "Mount path of the AWS auth method (VAULT_AUTH_MOUNT of the Lambda functions)."
  value       = vault_auth_backend.aws.path
}

output "kv_mount" {
  description = "Mount path of the KV v2 secrets engine."
  value       = vault_mount.kv.path
}

output "lambda_roles" {
  description = "Vault AWS-auth role of each Lambda function."
  value       = { for name, role in vault_aws_auth_backend_role.lambda : name => role.role }
}
