locals {
  # Applied to every resource; the literal key comes last so that var.tags cannot override it.
  tags        = merge(var.tags, { "tng:audit-id" = var.tng_audit_id })
  secret_path = "lambda/${var.function_name}"
}

data "aws_partition" "current" {}

resource "aws_lambda_function" "this" {
  function_name = var.function_name
  description   = "Reads its secret from Vault with the AWS auth method; deployed through tng"
  role          = aws_iam_role.this.arn
  runtime       = var.runtime
  architectures = [var.architecture]
  handler       = "index.handler"
  memory_size   = var.memory_size
  timeout       = var.timeout

  # The copy AWS Signer signed: with the code signing config, Lambda refuses any other package.
  s3_bucket               = aws_signer_signing_job.this.signed_object[0].s3[0].bucket
  s3_key                  = aws_signer_signing_job.this.signed_object[0].s3[0].key
  code_signing_config_arn = aws_lambda_code_signing_config.this.arn

  reserved_concurrent_executions = var.reserved_concurrency

  vpc_config {
    subnet_ids         = var.private_subnet_ids
    security_group_ids = [aws_security_group.this.id]
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }

  # Where and how to reach Vault; no secret. The function logs in with its own role's credentials.
  environment {
    variables = {
      VAULT_ADDR          = var.vault_addr
      VAULT_AUTH_ROLE     = var.function_name
      VAULT_AUTH_MOUNT    = var.vault_auth_mount
      VAULT_NAMESPACE     = var.vault_namespace
      VAULT_IAM_SERVER_ID = var.vault_iam_server_id
      VAULT_STS_REGION    = var.vault_sts_region
      SECRET_MOUNT        = var.vault_kv_mount
      SECRET_PATH         = local.secret_path
    }
  }

  tags = local.tags

  # Lambda checks at creation that the role may write to the dead-letter queue.
  depends_on = [
    aws_iam_role_policy.this,
    aws_iam_role_policy_attachment.vpc_access,
    aws_cloudwatch_log_group.this,
  ]
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_days
  tags              = local.tags
}

resource "aws_security_group" "this" {
  name_prefix = "${var.function_name}-"
  description = "Lambda ${var.function_name}: outbound TCP to Vault and AWS endpoints only"
  vpc_id      = var.vpc_id

  dynamic "egress" {
    for_each = var.egress_ports
    content {
      description = "TCP ${egress.value} out"
      from_port   = egress.value
      to_port     = egress.value
      protocol    = "tcp"
      cidr_blocks = var.egress_cidr_blocks
    }
  }

  tags = local.tags

  lifecycle {
    create_before_destroy = true
  }
}
