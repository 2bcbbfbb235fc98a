# Failed asynchronous invocations land here, encrypted with a customer-managed key: not the AWS-managed
# alias/aws/sqs, whose key policy nobody can edit or restrict (and which `tng lambda verify` rejects).
resource "aws_kms_key" "dlq" {
  description             = "Dead-letter queue of the Lambda function ${var.function_name}"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  # No policy: the default key policy leaves access to IAM, and the function's role gets exactly
  # GenerateDataKey and Decrypt on this key (iam.tf).
  tags = local.tags
}

resource "aws_kms_alias" "dlq" {
  name          = "alias/${var.function_name}-dlq"
  target_key_id = aws_kms_key.dlq.key_id
}

resource "aws_sqs_queue" "dlq" {
  name                              = "${var.function_name}-dlq"
  kms_master_key_id                 = aws_kms_key.dlq.arn
  kms_data_key_reuse_period_seconds = 300
  message_retention_seconds         = 1209600
  tags                              = local.tags
}
