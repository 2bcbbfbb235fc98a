data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "LambdaService"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# The function's identity, in AWS and (through the AWS auth method) in Vault.
resource "aws_iam_role" "this" {
  name               = "${var.function_name}-lambda"
  description        = "Execution role of the Lambda function ${var.function_name}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = local.tags
}

# Network interfaces in the VPC and CloudWatch Logs.
resource "aws_iam_role_policy_attachment" "vpc_access" {
  role       = aws_iam_role.this.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "DeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  statement {
    sid       = "DeadLetterQueueKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.dlq.arn]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "dead-letter-queue"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}
