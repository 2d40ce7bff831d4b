"""The smallest complete W&B example: parameters, a metric per step, an image, the model, and a
metric read back. Offline (WANDB_MODE=offline) the SDK has no read API: the value is read from the
run's summary; online, from the server with wandb.Api().

    WANDB_MODE=offline python examples/wandb_minimal.py
"""
import numpy as np
import torch
import wandb

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8 * 8, 3))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
x, y = torch.rand(32, 1, 8, 8), torch.randint(0, 3, (32,))

with wandb.init(project="examples", config={"lr": 0.1, "steps": 5}) as run:
    for step in range(5):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        run.log({"train/loss": loss.item()}, step=step)
    run.log({"samples/first": wandb.Image((x[0, 0].numpy() * 255).astype(np.uint8))})
    torch.save(model.state_dict(), "model.pt")
    artifact = wandb.Artifact("model", type="model")
    artifact.add_file("model.pt")
    run.log_artifact(artifact)
    last = run.summary["train/loss"]
    if not run.offline:
        last = wandb.Api().run(run.path).history(keys=["train/loss"])["train/loss"].iloc[-1]

print(f"run {run.id}: last loss read back {last:.4f}")
