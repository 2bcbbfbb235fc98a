variable "function_name" {
  description = "Name of the Lambda function; also its Vault AWS-auth role and its secret's path (lambda/<name>)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,55}$", var.function_name))
    error_message = "Use 1 to 55 letters, digits, hyphens or underscores."
  }
}

variable "tng_audit_id" {
  description = "The tng audit entry this deployment comes from. Fed from TNG_AUDIT_ID, which `tng exec` sets: run `tng exec -- sh -c 'TF_VAR_tng_audit_id=$TNG_AUDIT_ID terraform apply'`. Every resource is tagged tng:audit-id with it, and `tng lambda verify` checks it against the audit trail."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.tng_audit_id))
    error_message = "tng_audit_id must be the TNG_AUDIT_ID of a `tng exec` (a UUID): TF_VAR_tng_audit_id=$TNG_AUDIT_ID."
  }
}

variable "tags" {
  description = "Extra tags for every resource (tng:audit-id is always set from tng_audit_id)."
  type        = map(string)
  default     = {}
}

variable "package_file" {
  description = "The function's zip, built from handler/ (see README.md)."
  type        = string
  default     = "build/function.zip"
}

variable "package_bucket" {
  description = "S3 bucket, with versioning enabled, for the unsigned package and the signed copy AWS Signer makes of it."
  type        = string
}

variable "runtime" {
  description = "Lambda runtime."
  type        = string
  default     = "nodejs20.x"
}

variable "architecture" {
  description = "Instruction set: arm64 or x86_64."
  type        = string
  default     = "arm64"
}

variable "memory_size" {
  description = "Memory in MB."
  type        = number
  default     = 256
}

variable "timeout" {
  description = "Timeout in seconds."
  type        = number
  default     = 10
}

variable "reserved_concurrency" {
  description = "Concurrent executions reserved for (and capping) the function."
  type        = number
  default     = 5

  validation {
    # -1 would mean unreserved and 0 would switch the function off.
    condition     = var.reserved_concurrency >= 1
    error_message = "reserved_concurrency must be at least 1."
  }
}

variable "vpc_id" {
  description = "VPC of the private subnets."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets the function runs in (no route from the internet; Vault and the AWS endpoints reachable)."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) > 0
    error_message = "Give at least one private subnet: the function must run inside the VPC."
  }
}

variable "egress_cidr_blocks" {
  description = "Where the function may connect to: Vault and the VPC endpoints or NAT it uses."
  type        = list(string)
}

variable "egress_ports" {
  description = "TCP ports the function may connect to (443, and Vault's port if it is not 443)."
  type        = list(number)
  default     = [443]
}

variable "log_retention_days" {
  description = "Days the function's CloudWatch logs are kept."
  type        = number
  default     = 30
}

variable "vault_addr" {
  description = "Vault's address as the function reaches it."
  type        = string

  validation {
    condition     = can(regex("^https://", var.vault_addr))
    error_message = "vault_addr must be an https:// URL."
  }
}

variable "vault_iam_server_id" {
  description = "X-Vault-AWS-IAM-Server-ID value the AWS auth method requires (iam_server_id of the vault template)."
  type        = string
}

variable "vault_auth_mount" {
  description = "Mount path of Vault's AWS auth method."
  type        = string
  default     = "aws"
}

variable "vault_namespace" {
  description = "Vault namespace (Enterprise/HCP), or empty."
  type        = string
  default     = ""
}

variable "vault_sts_region" {
  description = "Region of the STS endpoint Vault checks logins against, when the vault template sets sts_region; empty for the global endpoint."
  type        = string
  default     = ""
}

variable "vault_kv_mount" {
  description = "Mount path of the KV v2 secrets engine."
  type        = string
  default     = "secret"
}

variable "function_secret" {
  description = "The function's secret, as key => value, written to <vault_kv_mount>/data/lambda/<function_name>. Ephemeral and write-only: it never lands in the plan or the state. Pass it from the environment, e.g. TF_VAR_function_secret='{\"webhook_key\":\"...\"}' read from your password manager."
  type        = map(string)
  sensitive   = true
  ephemeral   = true
}

variable "function_secret_version" {
  description = "Raise by one to write a new function_secret (Terraform cannot see a write-only value change)."
  type        = number
  default     = 1
}
