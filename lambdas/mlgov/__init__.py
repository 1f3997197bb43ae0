"""mlgov: serverless governance for Amazon SageMaker across an AWS Organization."""

__version__ = "0.1.0"
