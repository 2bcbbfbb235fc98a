variable "dex_issuer" {
  description = "Dex's issuer URL, exactly as in its config (e.g. https://dex.example.com/dex). Vault discovers the signing keys from it and requires it as the ID token's iss."
  type        = string

  validation {
    condition     = can(regex("^https://", var.dex_issuer))
    error_message = "The issuer must be an https:// URL."
  }
}

variable "dex_ca_pem" {
  description = "PEM bundle Vault trusts for Dex's TLS certificate, when it is not signed by a public CA."
  type        = string
  default     = null
}

variable "tng_client_id" {
  description = "Dex client of the tng CLI; Dex puts it in the ID token's aud, and the engineer role requires it."
  type        = string
  default     = "tng"
}

variable "engineer_groups" {
  description = "Dex groups whose members may log in as engineer (any one suffices)."
  type        = list(string)

  validation {
    condition     = length(var.engineer_groups) > 0
    error_message = "Name at least one group: without bound groups anyone Dex knows could log in."
  }
}

variable "engineer_token_ttl" {
  description = "Lifetime in seconds of an engineer's Vault token; tng renews it while the session lasts."
  type        = number
  default     = 900
}

variable "engineer_token_max_ttl" {
  description = "Longest an engineer's Vault token can be renewed to, in seconds (then tng logs in again)."
  type        = number
  default     = 28800
}

variable "aws_region" {
  description = "AWS region for the AWS secrets engine's API calls."
  type        = string
  default     = "us-east-1"
}

variable "aws_role_name" {
  description = "Name of the Vault AWS secrets engine role engineers use (aws_role in the tng profile)."
  type        = string
  default     = "deploy"
}

variable "deploy_role_arn" {
  description = "IAM role Vault assumes for engineers (sts:AssumeRole). Its trust policy must allow the principal Vault runs as."
  type        = string
}

variable "aws_sts_ttl" {
  description = "Default and longest lifetime of the engineers' STS credentials, in seconds."
  type        = object({ default = number, max = number })
  default     = { default = 900, max = 3600 }
}

variable "iam_server_id" {
  description = "Value of the X-Vault-AWS-IAM-Server-ID header that AWS-auth logins must sign (usually Vault's host name); it stops a signed request made for another Vault from being replayed here. Give the Lambda functions the same value."
  type        = string
}

variable "sts_endpoint" {
  description = "STS endpoint Vault checks AWS-auth logins against (null: the global https://sts.amazonaws.com). Clients must sign for the same endpoint and region."
  type        = string
  default     = null
}

variable "sts_region" {
  description = "Region of sts_endpoint (required with it)."
  type        = string
  default     = null
}

variable "kv_mount" {
  description = "Path of the KV v2 secrets engine holding the Lambda functions' secrets."
  type        = string
  default     = "secret"
}

variable "lambda_functions" {
  description = "Lambda functions that log in with the AWS auth method: function name => ARN of its IAM role (the lambda template's role_arn output). Each gets a Vault role of the same name whose token may read <kv_mount>/data/lambda/<name>."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for arn in values(var.lambda_functions) : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", arn))])
    error_message = "Each value must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)."
  }
}
