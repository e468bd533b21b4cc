package org.polypi.bench;

import java.util.Locale;

import org.polypi.model.ReferenceNetworks.Workload;

/**
 * The reference workloads of workloads.md as the end-to-end bench names them. Speed is measured on the reference
 * architecture (W3 on CIFAR's 3x32x32 input) unless a trained model exists, which then replaces it (W3's trained
 * model is the Fashion-MNIST variant, 1x32x32).
 */
enum E2eWorkload
{
    /** W1 mlp. */
    W1(Workload.MLP),
    /** W2 lenet. */
    W2(Workload.LENET),
    /** W3 minionn. */
    W3(Workload.MINIONN),
    /** W4 resnet18. */
    W4(Workload.RESNET18),
    /** W5 resnet50 (only with --scale). */
    W5(Workload.RESNET50);

    private final Workload reference;

    E2eWorkload(final Workload reference)
    {
        this.reference = reference;
    }

    /** The ReferenceNetworks builder of the random-weight model. */
    Workload reference()
    {
        return reference;
    }

    /** Lower-case id used in cell ids, file names and the trained-model prefix ("w2"). */
    String id()
    {
        return name().toLowerCase(Locale.ROOT);
    }

    /** "W2 lenet". */
    String label()
    {
        return name() + " " + reference.id();
    }
}
