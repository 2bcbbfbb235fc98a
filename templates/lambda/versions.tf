terraform {
  # 1.11: write-only arguments, which keep the function's secret out of the plan and the state.
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    vault = {
      source  = "hashicorp/vault"
      version = "~> 5.0"
    }
  }
}

# Both providers are configured from the environment that `tng exec` sets up: AWS credentials (the
# container endpoint) and AWS_REGION, VAULT_ADDR and VAULT_TOKEN. Nothing about them is written here.
