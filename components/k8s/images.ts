// Image references through the company's mirror (`platform:images.registry`):
// every image the platform runs keeps its upstream path under the mirror, with
// the upstream registry host as the first path segment, e.g.
//   quay.io/prometheus/prometheus -> <mirror>/quay.io/prometheus/prometheus
//   busybox                       -> <mirror>/docker.io/library/busybox
// That is the layout of a Harbor proxy-cache project per upstream registry (or
// of an Alibaba ACR instance replicating them), and it keeps two upstreams'
// same-named repositories apart. Tags and digests are kept, so a digest-pinned
// image is still verified against the upstream content. Unset mirror: the
// upstream reference unchanged.

/** The registry host of an image reference, and its path, per the Docker reference grammar. */
export function splitImage(image: string): { host: string; path: string } {
  const first = image.split("/")[0];
  // A first segment is a registry host when it has a dot or a port, or is localhost.
  if (image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost")) {
    return { host: first, path: image.slice(first.length + 1) };
  }
  return { host: "docker.io", path: image.includes("/") ? image : `library/${image}` };
}

/** The image through the mirror; unchanged without one. */
export function mirrored(image: string, mirror?: string): string {
  if (!mirror) return image;
  const { host, path } = splitImage(image);
  return `${mirror}/${host}/${path}`;
}

/** A chart's `registry` value for images from `upstreamHost`: the mirror's project for it, or the host itself. */
export function mirroredRegistry(upstreamHost: string, mirror?: string): string {
  return mirror ? `${mirror}/${upstreamHost}` : upstreamHost;
}
