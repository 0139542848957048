"""``python -m sb3_qwr.zoo <command> [Zoo flags]``: the RL Zoo with QWR (see ``sb3_qwr.zoo.cli``)."""

from sb3_qwr.zoo.cli import main

if __name__ == "__main__":
    main()
