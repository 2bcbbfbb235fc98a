terraform {
  required_version = ">= 1.11"

  required_providers {
    vault = {
      source  = "hashicorp/vault"
      version = "~> 5.0"
    }
  }
}

# The provider is configured from the environment: VAULT_ADDR and VAULT_TOKEN (VAULT_NAMESPACE when set),
# which `tng exec` provides. Nothing about Vault's address or credentials is written here.
