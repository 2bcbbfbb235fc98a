# The function's KV v2 secret. Only the function's Vault role may read it (policy lambda-<name> in the
# vault template); engineers may write it but not read it back.
resource "vault_kv_secret_v2" "this" {
  mount = var.vault_kv_mount
  name  = local.secret_path

  # Write-only: sent to Vault, never stored in the plan or the state.
  data_json_wo         = jsonencode(var.function_secret)
  data_json_wo_version = var.function_secret_version
  # Nor read back into the state.
  disable_read = true
}
