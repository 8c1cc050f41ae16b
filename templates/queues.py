"""The model worker's two SQS queues (petshore.contract.MODEL_WORKER): the catalog sends a job
for each finished upload to the jobs queue, a worker takes it, publishes the model, and sends
the outcome to the results queue, which the catalog reads. Each has a dead-letter queue for
the messages no one could handle, encrypted with the stack's data key, and reachable over
TLS only."""

from __future__ import annotations

from dataclasses import dataclass

from awacs.aws import Action, Bool, Condition, Deny, PolicyDocument, Principal, Statement
from troposphere import GetAtt, Output, Ref, Template, kms, sqs

from petshore.contract import (
    MODEL_JOB_ATTEMPTS,
    MODEL_JOB_VISIBILITY_SECONDS,
    MODEL_JOBS_QUEUE,
    MODEL_RESULTS_QUEUE,
)

DAY = 24 * 3600
# A job not taken within a day is no longer wanted: the upload it names has expired or the
# admin has asked again. A dead letter waits the longest SQS keeps anything, for someone to
# read why it failed and send it back (SQS's redrive).
JOB_RETENTION_SECONDS = 1 * DAY
DEAD_LETTER_RETENTION_SECONDS = 14 * DAY
# Results are kept longer than jobs: the catalog may be mid-release or down for a while, and
# a result lost would leave its upload waiting for ever.
RESULT_RETENTION_SECONDS = 4 * DAY
# The catalog records a result in its database within seconds; one it could not record after
# this many tries (a result for a product since deleted, a database down for long) is set
# aside rather than retried without end.
RESULT_VISIBILITY_SECONDS = 60
RESULT_ATTEMPTS = 5
# Receivers wait this long for a message (long polling): fewer empty, billed receives.
RECEIVE_WAIT_SECONDS = 20


@dataclass(frozen=True)
class Queues:
    jobs: sqs.Queue
    jobs_dead_letters: sqs.Queue
    results: sqs.Queue
    results_dead_letters: sqs.Queue

    def named(self, store: str) -> sqs.Queue:
        """The queue of a store name of petshore.contract (MODEL_JOBS_QUEUE...)."""
        return {MODEL_JOBS_QUEUE: self.jobs, MODEL_RESULTS_QUEUE: self.results}[store]


def _queue(t: Template, title: str, key: kms.Key, **props: object) -> sqs.Queue:
    # The stack's own key rather than SQS's: its IAM grants (use_data_key) already cover it,
    # and the roles that may read a queue are the ones that may decrypt its messages.
    return t.add_resource(
        sqs.Queue(title, KmsMasterKeyId=Ref(key), KmsDataKeyReusePeriodSeconds=3600, **props)
    )


def _with_dead_letters(
    t: Template,
    title: str,
    key: kms.Key,
    *,
    attempts: int,
    visibility: int,
    retention: int,
) -> tuple[sqs.Queue, sqs.Queue]:
    """A queue, and the one its messages go to after `attempts` receives without a delete."""
    dead_letters = _queue(
        t, f"{title}DeadLetterQueue", key, MessageRetentionPeriod=DEAD_LETTER_RETENTION_SECONDS
    )
    queue = _queue(
        t,
        f"{title}Queue",
        key,
        VisibilityTimeout=visibility,
        MessageRetentionPeriod=retention,
        ReceiveMessageWaitTimeSeconds=RECEIVE_WAIT_SECONDS,
        RedrivePolicy=sqs.RedrivePolicy(
            deadLetterTargetArn=GetAtt(dead_letters, "Arn"), maxReceiveCount=attempts
        ),
    )
    return queue, dead_letters


def _tls_only(t: Template, queues: list[sqs.Queue]) -> None:
    for queue in queues:
        t.add_resource(
            sqs.QueuePolicy(
                f"{queue.title}Policy",
                Queues=[Ref(queue)],
                PolicyDocument=PolicyDocument(
                    Statement=[
                        Statement(
                            Sid="DenyInsecureTransport",
                            Effect=Deny,
                            Principal=Principal("*"),
                            Action=[Action("sqs", "*")],
                            Resource=[GetAtt(queue, "Arn")],
                            Condition=Condition(Bool("aws:SecureTransport", "false")),
                        )
                    ]
                ),
            )
        )


def add_queues(t: Template, key: kms.Key) -> Queues:
    # A job not deleted within the visibility timeout (a worker that died or ran out of
    # time) is offered again; after MODEL_JOB_ATTEMPTS offers it is a dead letter.
    jobs, jobs_dead = _with_dead_letters(
        t,
        "ModelJobs",
        key,
        attempts=MODEL_JOB_ATTEMPTS,
        visibility=MODEL_JOB_VISIBILITY_SECONDS,
        retention=JOB_RETENTION_SECONDS,
    )
    results, results_dead = _with_dead_letters(
        t,
        "ModelResults",
        key,
        attempts=RESULT_ATTEMPTS,
        visibility=RESULT_VISIBILITY_SECONDS,
        retention=RESULT_RETENTION_SECONDS,
    )
    _tls_only(t, [jobs, jobs_dead, results, results_dead])
    for queue in (jobs, results, jobs_dead, results_dead):
        t.add_output(Output(f"{queue.title}Url", Value=Ref(queue)))
    return Queues(jobs, jobs_dead, results, results_dead)
