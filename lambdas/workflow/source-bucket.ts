/** Maps a build source's logical store (core: `disks` | `images`) to the real bucket name. */
import type { SourceStore } from '../core/ports';
import { config } from '../wiring';

export const sourceBucket = (store: SourceStore): string => (store === 'images' ? config.imagesBucket() : config.disksBucket());
