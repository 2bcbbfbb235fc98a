output "function_name" {
  description = "The function's name."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "The function's ARN."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "The function's IAM role: add it to lambda_functions in the vault template."
  value       = aws_iam_role.this.arn
}

output "dead_letter_queue_arn" {
  description = "The encrypted dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "signing_profile_version_arn" {
  description = "The only publisher the function accepts."
  value       = aws_signer_signing_profile.this.version_arn
}

output "verify" {
  description = "Check the deployed function's hardening and provenance."
  value       = "tng lambda verify ${aws_lambda_function.this.function_name}"
}
