//! Exponential moving averages of parameters: the slow EMA used for sampling (0.999-0.9999),
//! and the consistency models' target network `theta- <- mu theta- + (1 - mu) theta`.
//! burn has none built in: a visitor reads the online parameters, a mapper blends them in,
//! matching parameters by their id (a clone keeps the ids of its original).

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::Tensor;

use crate::unet::UNet;

/// Every float parameter, flattened, by id.
struct Collect(HashMap<ParamId, Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val();
        let n = t.shape().num_elements();
        self.0.insert(param.id, t.reshape([n]));
    }
}

/// `p <- decay p + (1 - decay) online(p)`.
struct Blend {
    online: HashMap<ParamId, Tensor<1>>,
    decay: f64,
}

impl ModuleMapper for Blend {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(online) = self.online.remove(&param.id) else {
            return param;
        };
        let decay = self.decay;
        param.map(|p| {
            let dims = p.dims();
            p * decay + online.reshape(dims) * (1.0 - decay)
        })
    }
}

/// `ema <- decay ema + (1 - decay) online`. `online` may live on an autodiff device; `ema` stays
/// a plain (no-gradient) module. `decay = 0` copies `online`.
pub fn ema_update(ema: UNet, online: &UNet, decay: f64) -> UNet {
    if decay == 0.0 {
        return online.valid();
    }
    let mut collect = Collect(HashMap::new());
    online.valid().visit(&mut collect);
    ema.map(&mut Blend { online: collect.0, decay })
}
