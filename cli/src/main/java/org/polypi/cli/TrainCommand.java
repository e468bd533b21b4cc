package org.polypi.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

import org.polypi.trainer.TrainerMain;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/** {@code polypi train}: the trainer's command line, unchanged. */
@Command(name = "train", mixinStandardHelpOptions = true,
    description = {"Train a model on Fashion-MNIST (ReLU, PILLAR polynomial or HerPN activations) and export it " +
        "as a .pim model file, with a side file of its activation ranges and accuracies.",
        "Every option is the trainer's: 'polypi train --net lenet --act pillar --degree 4 --epochs 15 --out " +
            "m.pim'; 'polypi train -- --help' lists them."})
final class TrainCommand implements Callable<Integer>
{
    @ParentCommand
    Main main;

    @Parameters(paramLabel = "OPTION", arity = "0..*", description = "The trainer's options.")
    List<String> options = new ArrayList<>();

    @Override
    public Integer call()
    {
        final String[] all = options.toArray(String[]::new);
        return TrainerMain.run(all, main.out(), main.err());
    }
}
