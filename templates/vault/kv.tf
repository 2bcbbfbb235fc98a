resource "vault_mount" "kv" {
  path        = var.kv_mount
  type        = "kv"
  description = "Application secrets (KV version 2)"
  options = {
    version = "2"
  }
}
