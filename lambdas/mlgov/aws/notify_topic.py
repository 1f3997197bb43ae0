"""The hub's notifications topic (`mlgov-notifications`): every Slack post is also published here, so that email,
Amazon Q Developer in chat applications or a pager can subscribe. A failed publish is logged by the caller and never
stops the Slack post or the flow it belongs to."""

from __future__ import annotations

SUBJECT_MAX = 100  # SNS Subject: at most 100 ASCII printable characters, no line breaks
MESSAGE_MAX = 256 * 1024


def publish_notice(sns, topic_arn: str, subject: str, text: str) -> str:
    """Publish one notice; the MessageId. Raises botocore's errors."""
    clean = "".join(c if 32 <= ord(c) < 127 else " " for c in subject).strip() or "mlgov"
    response = sns.publish(
        TopicArn=topic_arn,
        Subject=clean[:SUBJECT_MAX],
        Message=text.encode("utf-8")[:MESSAGE_MAX].decode("utf-8", "ignore"),
    )
    return response["MessageId"]
