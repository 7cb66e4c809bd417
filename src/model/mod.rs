//! The networks and inference: musicnn (the pretrained tagger), the emotion model, their
//! inputs (`segments`), devices and asset lookup. Training and evaluation live in `train/`.

pub mod assets;
pub mod device;
pub mod emotion;
pub mod musicnn;
pub mod seeds;
pub mod segments;
pub mod student;
pub mod tagger;
pub mod vgg;
