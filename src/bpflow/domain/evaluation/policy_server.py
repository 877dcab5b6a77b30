"""Runs in the training venv (``.venv-train/bin/python policy_server.py MODEL_DIR``): loads a
LeRobot checkpoint (``pretrained_model/``: weights, config, saved normalisers) and answers the
evaluator over stdin/stdout with ``wire`` messages:

* ``{cmd: "info"}`` → ``{info: <json>}`` — policy type and its input features with shapes;
* ``{cmd: "reset"}`` → ``{ok}`` — a new episode (clears the action queue or the temporal ensembler);
* ``{cmd: "act", <feature key>: array, ...}`` → ``{action: float32[action_dim]}``; images come
  as uint8 H×W×3 and are turned into what LeRobot's datasets yield (float 3×H×W in [0, 1]).

Everything LeRobot prints goes to stderr; stdout carries only the protocol. Offline: no hub."""

import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from wire import read_msg, write_msg  # noqa: E402


def main(model_dir: str) -> int:
    proto_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed from here on lands on stderr
    sys.stdout = sys.stderr
    proto_in = sys.stdin.buffer
    import torch
    from lerobot.configs.policies import PreTrainedConfig
    from lerobot.policies.factory import get_policy_class, make_pre_post_processors

    threads = int(os.environ.get("POLICY_THREADS", "0") or 0)
    if threads > 0:
        torch.set_num_threads(threads)
    cfg = PreTrainedConfig.from_pretrained(model_dir)
    cfg.device = "cpu"
    # inference-time options (ACT: n_action_steps, temporal_ensemble_coeff) the evaluator sets
    # per policy type without retraining; before the policy is built, which reads them
    by_type = json.loads(os.environ.get("POLICY_OVERRIDES", "") or "{}")
    for key, value in by_type.get(cfg.type, {}).items():
        if not hasattr(cfg, key):
            raise SystemExit(f"POLICY_OVERRIDES: the {cfg.type} config has no option {key!r}")
        setattr(cfg, key, value)
    policy = get_policy_class(cfg.type).from_pretrained(model_dir, config=cfg)
    policy.eval()
    pre, post = make_pre_post_processors(
        cfg, pretrained_path=model_dir, preprocessor_overrides={"device_processor": {"device": "cpu"}}
    )
    inputs = {
        k: {"type": str(v.type.name if hasattr(v.type, "name") else v.type), "shape": list(v.shape)}
        for k, v in cfg.input_features.items()
    }
    outputs = {k: {"shape": list(v.shape)} for k, v in cfg.output_features.items()}
    info = {
        "type": cfg.type,
        "inputs": inputs,
        "outputs": outputs,
        "n_action_steps": getattr(cfg, "n_action_steps", None),
        "temporal_ensemble_coeff": getattr(cfg, "temporal_ensemble_coeff", None),
    }
    while True:
        msg = read_msg(proto_in)
        if msg is None:
            return 0
        cmd = str(msg.pop("cmd"))
        if cmd == "info":
            write_msg(proto_out, {"info": json.dumps(info)})
        elif cmd == "reset":
            policy.reset()
            write_msg(proto_out, {"ok": 1})
        elif cmd == "act":
            task = str(msg.pop("task", ""))
            obs: dict[str, torch.Tensor | list[str]] = {}
            for key, value in msg.items():
                t = torch.from_numpy(np.ascontiguousarray(value))
                if value.dtype == np.uint8 and value.ndim == 3:
                    t = t.permute(2, 0, 1).float() / 255.0
                obs[key] = t.float().unsqueeze(0)
            obs["task"] = [task]
            with torch.inference_mode():
                action = post(policy.select_action(pre(obs)))
            write_msg(proto_out, {"action": action.squeeze(0).cpu().numpy().astype(np.float32)})
        else:
            write_msg(proto_out, {"error": f"unknown command {cmd}"})


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
