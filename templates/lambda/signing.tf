# Code signing: the package is uploaded unsigned, AWS Signer signs a copy with this profile, and the
# code signing config makes Lambda refuse (Enforce) any package not signed by it.
resource "aws_signer_signing_profile" "this" {
  platform_id = "AWSLambda-SHA384-ECDSA"
  # Profile names allow letters, digits and underscores only.
  name_prefix = "${substr(replace(var.function_name, "-", "_"), 0, 30)}_"

  signature_validity_period {
    value = 12
    type  = "MONTHS"
  }

  tags = local.tags
}

resource "aws_lambda_code_signing_config" "this" {
  description = "Only packages signed by ${aws_signer_signing_profile.this.name}"

  allowed_publishers {
    signing_profile_version_arns = [aws_signer_signing_profile.this.version_arn]
  }

  policies {
    untrusted_artifact_on_deployment = "Enforce"
  }
}

resource "aws_s3_object" "package" {
  bucket      = var.package_bucket
  key         = "unsigned/${var.function_name}.zip"
  source      = var.package_file
  source_hash = filemd5(var.package_file)
  tags        = local.tags
}

# A new package version means a new signing job, hence a new signed object and a new deployment.
resource "aws_signer_signing_job" "this" {
  profile_name = aws_signer_signing_profile.this.name

  source {
    s3 {
      bucket  = aws_s3_object.package.bucket
      key     = aws_s3_object.package.key
      version = aws_s3_object.package.version_id
    }
  }

  destination {
    s3 {
      bucket = var.package_bucket
      prefix = "signed/${var.function_name}/"
    }
  }

  ignore_signing_job_failure = false
}
