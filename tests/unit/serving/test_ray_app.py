"""The Ray Serve application's arguments (built, not run: the e2e test runs it)."""

import pytest

from mmcascade.serving.ray_app import app_builder, ray_application


def test_app_builder_reads_ray_serve_run_arguments():
    app = app_builder(dict(config="c.py", checkpoint="m.pth", replicas="3", num_cpus="2", max_batch_size="8"))
    deployment = app._bound_deployment
    assert deployment.num_replicas == 3 and deployment.ray_actor_options["num_cpus"] == 2.0
    assert deployment.max_ongoing_requests == 16  # two batches in flight per replica


@pytest.mark.parametrize(
    "args, message",
    [
        (dict(config="c.py"), "needs checkpoint= arguments"),
        (dict(config="c.py", checkpoint="m.pth", batch=4), "unknown argument(s) ['batch']"),
        (dict(config="c.py", checkpoint="m.pth", max_batch_size="0"), "max_batch_size must be at least 1"),
    ],
)
def test_app_builder_refuses_by_name(args, message):
    with pytest.raises(ValueError) as info:
        app_builder(args)
    assert message in str(info.value)


def test_replicas_at_least_one():
    with pytest.raises(ValueError, match="num_replicas must be >= 1"):
        ray_application("c.py", "m.pth", num_replicas=0)
