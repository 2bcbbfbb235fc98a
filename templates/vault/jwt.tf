# Engineers: tng posts the Dex ID token to auth/jwt/login with role "engineer".
resource "vault_jwt_auth_backend" "dex" {
  path                  = "jwt"
  type                  = "jwt"
  description           = "Dex ID tokens presented by tng"
  oidc_discovery_url    = var.dex_issuer
  oidc_discovery_ca_pem = var.dex_ca_pem
  bound_issuer          = var.dex_issuer
  default_role          = "engineer"

  tune {
    default_lease_ttl = "15m"
    max_lease_ttl     = "8h"
    token_type        = "default-service"
  }
}

resource "vault_jwt_auth_backend_role" "engineer" {
  backend   = vault_jwt_auth_backend.dex.path
  role_name = "engineer"
  # /login only accepts jwt roles; the default (oidc) is for browser logins through Vault.
  role_type = "jwt"

  bound_audiences   = [var.tng_client_id]
  user_claim        = "email"
  groups_claim      = "groups"
  bound_claims_type = "string"
  # A comma-separated value matches if the token's groups contain any of them.
  bound_claims = {
    groups = join(",", var.engineer_groups)
  }

  token_policies = [vault_policy.engineer.name]
  token_ttl      = var.engineer_token_ttl
  token_max_ttl  = var.engineer_token_max_ttl
  # Service tokens: Terraform's Vault provider makes a child token, which batch tokens cannot.
  token_type = "service"
}
