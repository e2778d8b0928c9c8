"""The job as AWS runs it: the steps over the job's store (:mod:`~pavi.aws.steps`,
:mod:`~pavi.aws.job_store`), the step Lambdas' handlers and events
(:mod:`~pavi.aws.lambda_handlers`), the client API (:mod:`~pavi.aws.api`) and the job's
readable log (:mod:`~pavi.aws.joblog`).

May import: :mod:`pavi.domain`, boto3 and Powertools. Never :mod:`pavi.local`,
:mod:`pavi.cli` or moto.
"""
