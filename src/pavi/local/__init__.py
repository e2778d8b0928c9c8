"""The local stand-in for AWS: one module per thing it stands in for.

- :mod:`~pavi.local.template`: what ``template.yaml`` says (functions, job definitions,
  the state machine's substitutions);
- :mod:`~pavi.local.lambda_host`: AWS Lambda (the handlers, in this process);
- :mod:`~pavi.local.batch_host`: AWS Batch (jobs as processes of the installed entrypoint);
- :mod:`~pavi.local.stack`: moto's server, the bucket and the state machine, wired to both;
- :mod:`~pavi.local.runner`: ``pavi run``; :mod:`~pavi.local.serve`: ``pavi serve``.

May import: :mod:`pavi.domain`, :mod:`pavi.aws`, moto, boto3, PyYAML. Never :mod:`pavi.cli`.
"""
